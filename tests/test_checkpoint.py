r"""Checkpoint / resume of run_training (issue 12, deliver 4): a seeded run interrupted
after epoch 3 and resumed in a fresh process state ends bit for bit like the
uninterrupted run."""
import os

import pytest
import torch

from torch_geometric_kgrec.train import load_checkpoint, run_training, seed_everything


class _Interrupt(Exception):
    pass


def _run(checkpoint=None, resume=False, stop_at=None, init_seed=0):
    seed_everything(init_seed)  # a resumed run starts from other weights and RNG states
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.3),
                                torch.nn.Linear(8, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    gen = torch.Generator().manual_seed(init_seed + 7)  # a sampler's generator
    x_val = torch.linspace(-1, 1, 16).view(4, 4)

    def train_epoch(epoch):
        if epoch == stop_at:
            raise _Interrupt
        x = torch.randn(32, 4, generator=gen)
        y = x.sum(1, keepdim=True) + 0.1 * torch.randn(32, 1)  # global RNG
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        return loss.item()

    def evaluate():
        return {'score': -float(model(x_val).sub(x_val.sum(1, keepdim=True)).pow(2).mean())}

    result = run_training(model, train_epoch, evaluate, epochs=8, monitor='score',
                          patience=100, eval_every=2, progress=False,
                          checkpoint=checkpoint, checkpoint_every=1, resume=resume,
                          state={'optimizer': opt, 'scheduler': sched, 'sampler': gen})
    return result, model


def _strip(history):
    return [{k: v for k, v in row.items() if 'seconds' not in k} for row in history]


def test_resume_is_bit_for_bit(tmp_path):
    ref, ref_model = _run()
    ckpt = str(tmp_path / 'ckpt')
    with pytest.raises(_Interrupt):
        _run(checkpoint=ckpt, stop_at=4)
    assert load_checkpoint(os.path.join(ckpt, 'checkpoint.pt'))['epoch'] == 3
    res, model = _run(checkpoint=ckpt, resume=True, init_seed=123)
    assert _strip(res.history) == _strip(ref.history)
    assert res.best_epoch == ref.best_epoch and res.best_metrics == ref.best_metrics
    for a, b in zip(model.state_dict().values(), ref_model.state_dict().values()):
        assert torch.equal(a, b)
    # a finished run resumes to its result without training again
    again, model2 = _run(checkpoint=ckpt, resume=True, init_seed=5, stop_at=1)
    assert _strip(again.history) == _strip(ref.history)
    assert torch.equal(model2[0].weight, ref_model[0].weight)
    assert not [f for f in os.listdir(ckpt) if f.endswith('.tmp')]


def test_checkpoint_is_loaded_weights_only(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}", ))

    os.makedirs(tmp_path / 'c')
    torch.save({'x': Evil()}, tmp_path / 'c' / 'checkpoint.pt')
    with pytest.raises(RuntimeError, match='cannot read the checkpoint'):
        _run(checkpoint=str(tmp_path / 'c'), resume=True)
    assert not (tmp_path / 'pwned').exists()

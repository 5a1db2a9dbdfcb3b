import pytest
import torch

from torch_geometric_kgrec.nn.conv import CrossCompressUnit


def dense_reference(v, e, w_vv, w_ev, w_ve, w_ee, b_v, b_e):
    # Eq. (3)-(4) of MKR with the d x d cross matrix materialised, looping over pairs.
    v_out, e_out = [], []
    for vi, ei in zip(v, e):
        C = torch.outer(vi, ei)  # C[i, j] = v_i e_j
        v_out.append(C @ w_vv + C.t() @ w_ev + b_v)
        e_out.append(C @ w_ve + C.t() @ w_ee + b_e)
    return torch.stack(v_out), torch.stack(e_out)


def test_cross_compress_hand_computed_values():
    unit = CrossCompressUnit(2)
    with torch.no_grad():
        unit.weight_vv.copy_(torch.tensor([[1.], [0.]]))
        unit.weight_ev.copy_(torch.tensor([[0.], [1.]]))
        unit.weight_ve.copy_(torch.tensor([[1.], [1.]]))
        unit.weight_ee.copy_(torch.tensor([[2.], [-1.]]))
        unit.bias_v.copy_(torch.tensor([0.5, -0.5]))
        unit.bias_e.copy_(torch.tensor([1., 2.]))
    v = torch.tensor([[1., 2.]])
    e = torch.tensor([[3., 4.]])
    # C = [[3, 4], [6, 8]];  C w_vv = [3, 6];  C^T w_ev = [6, 8]  -> v' = [9.5, 13.5]
    # C w_ve = [7, 14];  C^T w_ee = [3*2-6, 4*2-8] = [0, 0]     -> e' = [8, 16]
    v_out, e_out = unit(v, e)
    assert v_out.tolist() == [[9.5, 13.5]]
    assert e_out.tolist() == [[8., 16.]]


def test_cross_compress_matches_dense_reference():
    torch.manual_seed(0)
    unit = CrossCompressUnit(5)
    with torch.no_grad():
        unit.bias_v.normal_()
        unit.bias_e.normal_()
    v, e = torch.randn(7, 5, dtype=torch.double), torch.randn(7, 5, dtype=torch.double)
    unit = unit.double()
    v_out, e_out = unit(v, e)
    ref_v, ref_e = dense_reference(
        v, e, *(getattr(unit, n).view(-1) for n in
                ('weight_vv', 'weight_ev', 'weight_ve', 'weight_ee', 'bias_v', 'bias_e')))
    assert torch.allclose(v_out, ref_v, atol=1e-12)
    assert torch.allclose(e_out, ref_e, atol=1e-12)
    # batched leading dimensions are supported
    v3, e3 = unit(v.view(7, 1, 5), e.view(7, 1, 5))
    assert torch.allclose(v3.view(7, 5), v_out) and torch.allclose(e3.view(7, 5), e_out)


def test_dcn_variant_values():
    unit = CrossCompressUnit(2, variant='dcn')
    assert str(unit) == "CrossCompressUnit(2, variant='dcn')"
    assert not hasattr(unit, 'weight_vv')
    with torch.no_grad():
        unit.weight_ev.copy_(torch.tensor([[1.], [2.]]))
        unit.weight_ve.copy_(torch.tensor([[-1.], [1.]]))
        unit.bias_v.copy_(torch.tensor([1., 1.]))
        unit.bias_e.zero_()
    v0, e0 = torch.tensor([[1., 0.]]), torch.tensor([[0., 2.]])
    v, e = torch.tensor([[1., 1.]]), torch.tensor([[3., 5.]])
    # v' = e0 (v . w_ev) + v + b_v = [0, 2]*3 + [1, 1] + [1, 1] = [2, 8]
    # e' = v0 (e . w_ve) + e + b_e = [1, 0]*2 + [3, 5]          = [5, 5]
    v_out, e_out = unit(v, e, v0, e0)
    assert v_out.tolist() == [[2., 8.]] and e_out.tolist() == [[5., 5.]]
    # first layer: v0, e0 default to the inputs
    v_out, e_out = unit(v0, e0)
    # v' = e0 (v0 . w_ev) + v0 + b = [0, 2]*1 + [1, 0] + [1, 1] = [2, 3]
    # e' = v0 (e0 . w_ve) + e0     = [1, 0]*2 + [0, 2]          = [2, 2]
    assert v_out.tolist() == [[2., 3.]] and e_out.tolist() == [[2., 2.]]


def test_stitch_variant_values():
    unit = CrossCompressUnit(3, variant='stitch', bias=False)
    assert str(unit) == "CrossCompressUnit(3, variant='stitch')"
    assert torch.equal(unit.alpha, torch.tensor([[0.9, 0.1], [0.1, 0.9]]))
    with torch.no_grad():
        unit.alpha.copy_(torch.tensor([[2., 1.], [0., -1.]]))
    v, e = torch.tensor([[1., 2., 3.]]), torch.tensor([[1., 0., 1.]])
    v_out, e_out = unit(v, e)
    assert v_out.tolist() == [[3., 4., 7.]] and e_out.tolist() == [[-1., 0., -1.]]


@pytest.mark.parametrize('variant', ['mkr', 'dcn', 'stitch'])
def test_gradient_reaches_every_parameter(variant):
    torch.manual_seed(1)
    unit = CrossCompressUnit(4, variant=variant)
    v = torch.randn(6, 4, requires_grad=True)
    e = torch.randn(6, 4, requires_grad=True)
    out_v, out_e = unit(v, e)
    out_v2, out_e2 = unit(out_v, out_e)  # two layers (bias grads depend on inputs)
    (out_v2.pow(2).sum() + out_e2.pow(3).sum()).backward()
    for name, p in unit.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert v.grad.abs().sum() > 0 and e.grad.abs().sum() > 0


def test_repr_reset_and_bad_input():
    unit = CrossCompressUnit(8)
    assert str(unit) == 'CrossCompressUnit(8)'
    assert {n for n, _ in unit.named_parameters()} == {
        'weight_vv', 'weight_ev', 'weight_ve', 'weight_ee', 'bias_v', 'bias_e'}
    bound = (6 / 9) ** 0.5  # Glorot on a [d, 1] vector, as tf.get_variable does
    assert unit.weight_vv.abs().max() <= bound and unit.bias_v.abs().sum() == 0
    with torch.no_grad():
        unit.bias_v.fill_(3.)
    unit.reset_parameters()
    assert unit.bias_v.abs().sum() == 0

    with pytest.raises(ValueError, match='same shape'):
        unit(torch.randn(3, 8), torch.randn(2, 8))
    with pytest.raises(ValueError, match='8 channels'):
        unit(torch.randn(3, 4), torch.randn(3, 4))
    with pytest.raises(ValueError, match="only used by variant='dcn'"):
        unit(torch.randn(3, 8), torch.randn(3, 8), v0=torch.randn(3, 8))
    with pytest.raises(ValueError, match='variant'):
        CrossCompressUnit(8, variant='foo')

import copy

import pytest
import torch
import torch.nn.functional as F

from torch_geometric_kgrec.metrics import ctr_metrics
from torch_geometric_kgrec.nn import KGCN
from torch_geometric_kgrec.protocols import KGNeighborSampler


def small_model(aggr='sum', layers=1, K=3, seed=0, **kwargs):
    torch.manual_seed(seed)
    U, E, R, I, d = 5, 12, 4, 6, 4
    model = KGCN(U, E, R, I, embedding_dim=d, num_neighbors=K, num_layers=layers,
                 aggregator=aggr, **kwargs)
    g = torch.Generator().manual_seed(seed)
    model.set_neighbors(torch.randint(0, E, (E, K), generator=g),
                        torch.randint(0, R, (E, K), generator=g))
    with torch.no_grad():
        for conv in model.convs:
            conv.bias.normal_(generator=g)
    return model


def loop_reference_one_hop(model, u, v):
    r"""KGCN with H = 1 for one (user, item) pair, written out by hand."""
    conv = model.convs[0]
    W, b = conv.lin.weight, conv.bias
    user = model.user_emb.weight[u]
    ent, rel = model.entity_emb.weight, model.relation_emb.weight
    nbrs, types = model.neighbors[v].tolist(), model.neighbor_types[v].tolist()
    scores = torch.stack([user @ rel[r] for r in types])
    if model.scaling == 'mean':  # the reference code: u^T r / d
        scores = scores / user.numel()
    pi = scores.exp() / scores.exp().sum()
    agg = sum(p * ent[e] for p, e in zip(pi, nbrs))
    if model.scaling == 'mean':  # ... and the mean over the K neighbours
        agg = agg / len(nbrs)
    if model.aggregator == 'sum':
        h = W @ (ent[v] + agg) + b
    elif model.aggregator == 'concat':
        h = W @ torch.cat([ent[v], agg]) + b
    else:
        h = W @ agg + b
    return user @ torch.tanh(h)


@pytest.mark.parametrize('aggr', ['sum', 'concat', 'neighbor'])
@pytest.mark.parametrize('scaling', ['sum', 'mean'])
def test_one_hop_matches_hand_written_reference(aggr, scaling):
    model = small_model(aggr, scaling=scaling)
    if scaling == 'mean':
        assert str(model).endswith(f"aggregator='{aggr}', scaling='mean')")
    users, items = torch.tensor([0, 1, 4, 4]), torch.tensor([5, 0, 2, 5])
    out = model(users, items)
    ref = torch.stack([loop_reference_one_hop(model, u, v) for u, v in zip(users, items)])
    assert torch.allclose(out, ref, atol=1e-5)
    assert torch.allclose(model.score(users, items), torch.sigmoid(ref), atol=1e-6)


@pytest.mark.parametrize('aggr', ['sum', 'concat'])
def test_two_hops_dense_equals_message_passing(aggr):
    # The fast dense receptive-field path of the model against the general
    # edge_index path of KGCNConv on the explicit computation tree.
    model = small_model(aggr, layers=2, K=2)
    users, items = torch.tensor([0, 3, 2]), torch.tensor([1, 1, 4])
    N, K = users.numel(), model.num_neighbors
    ent, rel = model.entity_emb.weight, model.relation_emb.weight
    user = model.user_emb(users)
    hop0, hop1 = items, model.neighbors[items].view(-1)  # [N], [N*K] entity ids
    out0 = []  # iteration 0 (ReLU) on the nodes of hop 0 and hop 1 (copies per pair)
    for nodes, reps in ((hop0, 1), (hop1, K)):
        copies = torch.arange(nodes.numel())
        edge_index = torch.stack([model.neighbors[nodes].view(-1), copies.repeat_interleave(K)])
        out0.append(model.convs[0]((ent, ent[nodes]), edge_index,
                                   model.neighbor_types[nodes].view(-1),
                                   user.repeat_interleave(reps, 0), rel))
    # iteration 1 (tanh): hop-0 copies aggregate their hop-1 copies
    edge_index = torch.stack([torch.arange(N * K), torch.arange(N).repeat_interleave(K)])
    item_vec = model.convs[1]((out0[1], out0[0]), edge_index,
                              model.neighbor_types[items].view(-1), user, rel)
    assert torch.allclose(model(users, items), (user * item_vec).sum(-1), atol=1e-5)


@pytest.mark.parametrize('aggr,layers,scaling', [('sum', 1, 'sum'), ('concat', 1, 'sum'),
                                                 ('neighbor', 1, 'sum'), ('sum', 2, 'sum'),
                                                 ('concat', 2, 'sum'), ('sum', 2, 'mean'),
                                                 ('concat', 1, 'mean'), ('neighbor', 1, 'mean'),
                                                 ('sum', 1, 'mean')])
def test_score_all_equals_pairwise_forward(aggr, layers, scaling):
    # chunk_size=40 forces user + item chunks
    model = small_model(aggr, layers=layers, chunk_size=40, scaling=scaling)
    users = torch.tensor([4, 0, 2])
    full = model.score_all(users)
    assert full.shape == (3, model.num_items)
    pairs_u = users.repeat_interleave(model.num_items)
    pairs_i = torch.arange(model.num_items).repeat(3)
    with torch.no_grad():
        ref = model(pairs_u, pairs_i).view(3, -1)
    assert torch.allclose(full, ref, atol=1e-5)
    top = model.recommend(users, k=2, exclude_edge_index=torch.tensor([[4, 4], [0, 1]]))
    assert not {0, 1} & set(top[0].tolist())


@pytest.mark.parametrize('aggr,scaling', [('sum', 'sum'), ('concat', 'mean'),
                                          ('neighbor', 'sum')])
def test_forward_dense_all_users_equals_forward_dense(aggr, scaling):
    # the item-major, in-place ranking path of KGCNConv against its per-pair form
    model = small_model(aggr, scaling=scaling)
    conv, rel = model.convs[0], model.relation_emb.weight
    items = torch.arange(model.num_items)
    x, nbr, types = (model.entity_emb(items), model.entity_emb(model.neighbors[items]),
                     model.neighbor_types[items])
    user = model.user_emb.weight  # [B, d]
    with torch.no_grad():
        out = conv.forward_dense_all_users(conv.lin_self(x), conv.lin_nbr(nbr), types,
                                           user, rel)  # [I, B, d]
        ref = conv.forward_dense(x.unsqueeze(0), nbr.unsqueeze(0), types.unsqueeze(0),
                                 user.unsqueeze(1), rel)  # [B, I, d]
    assert out.shape == (model.num_items, user.size(0), conv.out_channels)
    assert torch.allclose(out.transpose(0, 1), ref, atol=1e-6)


def test_loss_value_and_gradients():
    model = small_model('concat', layers=2)
    users, items = torch.tensor([0, 1, 2]), torch.tensor([3, 4, 5])
    labels = torch.tensor([1.0, 0.0, 1.0])
    l2 = 1e-2
    loss = model.loss(users, items, labels, l2_weight=l2)
    squares = sum(p.pow(2).sum() for p in (model.user_emb.weight, model.entity_emb.weight,
                                           model.relation_emb.weight,
                                           model.convs[0].lin.weight,
                                           model.convs[1].lin.weight))
    expected = F.binary_cross_entropy(model.score(users, items), labels) + l2 * squares / 2
    assert torch.allclose(loss, expected, atol=1e-6)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    # without L2 the BCE alone reaches the layers and the used embeddings
    model.zero_grad()
    model.loss(users, items, labels, l2_weight=0).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_adam_weight_decay_equals_l2_term():
    # The benchmark trains with Adam(weight_decay=l2) on l2_parameters() instead of the
    # L2 term in the loss: the same gradients, hence the same trajectory.
    m1 = small_model('concat', layers=2)
    m2 = copy.deepcopy(m1)
    decay = m2.l2_parameters()
    rest = [p for p in m2.parameters() if all(p is not q for q in decay)]
    opt1 = torch.optim.Adam(m1.parameters(), lr=0.05)
    opt2 = torch.optim.Adam([{'params': decay, 'weight_decay': 0.1}, {'params': rest}],
                            lr=0.05)
    users, items = torch.tensor([0, 1, 2, 2]), torch.tensor([3, 4, 5, 0])
    labels = torch.tensor([1.0, 0.0, 1.0, 0.0])
    for _ in range(3):
        opt1.zero_grad()
        m1.loss(users, items, labels, l2_weight=0.1).backward()
        opt1.step()
        opt2.zero_grad()
        m2.loss(users, items, labels, l2_weight=0).backward()
        opt2.step()
    for (name, p1), p2 in zip(m1.named_parameters(), m2.parameters()):
        assert torch.allclose(p1, p2, atol=1e-5), name


def test_repr_and_errors():
    model = KGCN(3, 10, 2, 4, embedding_dim=8, num_neighbors=2)
    assert str(model) == ("KGCN(3, 10, num_relations=2, embedding_dim=8, num_neighbors=2, "
                          "num_layers=1, aggregator='sum')")
    with pytest.raises(RuntimeError, match='set_neighbors'):
        model(torch.tensor([0]), torch.tensor([1]))
    with pytest.raises(ValueError, match='shape'):
        model.set_neighbors(torch.zeros(10, 3, dtype=torch.long),
                            torch.zeros(10, 3, dtype=torch.long))
    with pytest.raises(ValueError, match='neighbor_types'):
        model.set_neighbors(torch.zeros(10, 2, dtype=torch.long),
                            torch.full((10, 2), 2, dtype=torch.long))
    with pytest.raises(ValueError, match='num_items'):
        KGCN(3, 4, 2, 5)
    # the sampled neighbourhood is not part of the state_dict
    assert set(model.state_dict()) == {'user_emb.weight', 'entity_emb.weight',
                                       'relation_emb.weight', 'convs.0.lin.weight',
                                       'convs.0.bias'}


def test_learns_kg_preference_with_per_epoch_resampling():
    # 40 items, each linked to one of 4 genre entities; user u likes genre u % 4.
    torch.manual_seed(0)
    U, I, G = 24, 40, 4
    genre = torch.arange(I) % G
    kg = torch.stack([torch.arange(I), I + genre])
    sampler = KGNeighborSampler(kg, torch.zeros(I, dtype=torch.long), I + G, num_neighbors=4)
    model = KGCN(U, I + G, sampler.num_relations + 1, I, embedding_dim=8, num_neighbors=4)
    users = torch.arange(U).repeat_interleave(I)
    items = torch.arange(I).repeat(U)
    labels = (genre[items] == users % G).float()
    perm = torch.randperm(users.numel())
    train, test = perm[:len(perm) // 2], perm[len(perm) // 2:]
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    gen = torch.Generator().manual_seed(0)
    for _ in range(30):
        model.set_neighbors(*sampler.sample(gen))
        for idx in train.split(64):
            opt.zero_grad()
            model.loss(users[idx], items[idx], labels[idx], l2_weight=1e-5).backward()
            opt.step()
    model.set_neighbors(*sampler.sample(torch.Generator().manual_seed(1)))
    with torch.no_grad():
        m = ctr_metrics(model.score(users[test], items[test]), labels[test])
    assert m['auc'] > 0.95 and m['acc'] > 0.85


def test_learns_on_real_lastfm(real_lastfm, one_thread):
    # Paper protocol (CTR 6:2:2) on the real Last.FM data, a few epochs at a higher
    # learning rate with per-epoch neighbour re-sampling: KGCN must clearly beat chance.
    from torch_geometric_kgrec.protocols import ctr_split

    data = real_lastfm
    split = ctr_split(data, seed=0)
    tr, va = split.train, split.val
    kg = data['entity', 'kg', 'entity']
    sampler = KGNeighborSampler(kg.edge_index, kg.edge_type, data['entity'].num_nodes, 8,
                                num_relations=len(data.relation_names))
    torch.manual_seed(0)
    model = KGCN(data['user'].num_nodes, data['entity'].num_nodes,
                 sampler.num_relations + 1, data.num_items, embedding_dim=16,
                 num_neighbors=8)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        model.set_neighbors(*sampler.sample(gen))
        for idx in torch.randperm(len(tr)).split(256):
            opt.zero_grad()
            model.loss(tr.users[idx], tr.items[idx], tr.label[idx], 1e-6).backward()
            opt.step()
    model.set_neighbors(*sampler.sample(torch.Generator().manual_seed(1)))
    with torch.no_grad():
        metrics = ctr_metrics(model.score(va.users, va.items), va.label)
    assert metrics['auc'] > 0.75 and metrics['acc'] > 0.68

r"""Explanations of TUP / KTUP recommendations (Section 6.7 / Figure 6 of KTUP).

For a user :math:`u` and a recommended item :math:`i`, KTUP's explanation is

1. the preference(s) induced for :math:`(u, i)` (eq. 8-10), which KTUP maps one-to-one
   to KG relations, so each preference is *named* by its relation; and
2. the KG paths that connect :math:`i` to the user's (training) history through that
   relation: :math:`j \xrightarrow{r} e \xleftarrow{r} i` (or with both edges
   reversed) for a history item :math:`j` and an entity :math:`e`, e.g. two movies
   with the same director.
"""
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Tuple

import torch
from torch import Tensor

__all__ = ['PreferenceWeight', 'KGPath', 'Explanation', 'KTUPExplainer']


@dataclass
class PreferenceWeight:
    r"""One induced preference: its index (= relation id in KTUP), name and weight."""
    preference: int
    name: str
    weight: float


@dataclass
class KGPath:
    r"""A path :math:`j \xrightarrow{r} e \xleftarrow{r} i` (:obj:`outgoing=True`) or
    :math:`j \xleftarrow{r} e \xrightarrow{r} i` (:obj:`outgoing=False`) between a
    history item :math:`j` and the recommended item :math:`i`."""
    history_item: int
    relation: int
    entity: int
    outgoing: bool


@dataclass
class Explanation:
    r"""Why :obj:`item` is recommended to :obj:`user` (see :class:`KTUPExplainer`)."""
    user: int
    item: int
    score: float
    preferences: List[PreferenceWeight]
    paths: List[KGPath]
    user_preferences: List[PreferenceWeight] = field(default_factory=list)
    item_names: Optional[Sequence[str]] = None
    entity_names: Optional[Sequence[str]] = None
    relation_names: Optional[Sequence[str]] = None

    def _item(self, i: int) -> str:
        return self.item_names[i] if self.item_names is not None else f'item {i}'

    def _entity(self, e: int) -> str:
        if self.entity_names is not None and e < len(self.entity_names):
            return self.entity_names[e]
        if self.item_names is not None and e < len(self.item_names):
            return self.item_names[e]
        return f'entity {e}'

    def _relation(self, r: int) -> str:
        return self.relation_names[r] if self.relation_names is not None else f'relation {r}'

    def render(self) -> str:
        r"""A readable multi-line rendering."""
        lines = [f'user {self.user} <- {self._item(self.item)} (score {self.score:.3f})']
        if self.user_preferences:
            lines.append('  user preferences over history: ' + ', '.join(
                f'{p.name} ({p.weight:.2f})' for p in self.user_preferences))
        lines.append('  induced preference: ' + ', '.join(
            f'{p.name} ({p.weight:.2f})' for p in self.preferences))
        if not self.paths:
            lines.append('  (no KG path to the history through these relations)')
        for p in self.paths:
            rel = self._relation(p.relation)
            if p.outgoing:
                lines.append(f'  {self._item(p.history_item)} --{rel}--> '
                             f'{self._entity(p.entity)} <--{rel}-- {self._item(self.item)}')
            else:
                lines.append(f'  {self._item(p.history_item)} <--{rel}-- '
                             f'{self._entity(p.entity)} --{rel}--> {self._item(self.item)}')
        return '\n'.join(lines)

    __str__ = render


class KTUPExplainer:
    r"""Explains recommendations of a trained :class:`~torch_geometric_kgrec.nn.models.TUP`
    or :class:`~torch_geometric_kgrec.nn.models.KTUP` with induced preferences and KG
    paths (Figure 6 of KTUP).

    Args:
        model (TUP): The trained model (KTUP: preference :math:`p` is relation :math:`p`).
        train_edge_index (torch.Tensor): The users' history, :obj:`[2, n]` (user, item).
        kg_edge_index (torch.Tensor): KG heads and tails :obj:`[2, T]`.
        kg_edge_type (torch.Tensor): KG relations :obj:`[T]`.
        relation_names (list of str, optional): Name of every relation/preference.
        item_names (list of str, optional): Name (e.g. title) of every item.
        entity_names (list of str, optional): Name of every entity.
        item_to_entity (torch.Tensor, optional): Entity of each item (:obj:`-1`: none);
            default: item :obj:`i` is entity :obj:`i` (the library's schema).
        top_preferences (int, optional): Preferences listed per pair. (default: :obj:`2`)
        max_paths (int, optional): Paths listed per explanation. (default: :obj:`5`)
    """
    def __init__(self, model, train_edge_index: Tensor, kg_edge_index: Tensor,
                 kg_edge_type: Tensor, relation_names: Optional[Sequence[str]] = None,
                 item_names: Optional[Sequence[str]] = None,
                 entity_names: Optional[Sequence[str]] = None,
                 item_to_entity: Optional[Tensor] = None, top_preferences: int = 2,
                 max_paths: int = 5) -> None:
        if kg_edge_type.numel() != kg_edge_index.size(1):
            raise ValueError("'kg_edge_type' must have one entry per KG edge")
        if relation_names is not None and len(relation_names) < model.num_preferences:
            raise ValueError(f'{len(relation_names)} relation names for '
                             f'{model.num_preferences} preferences')
        self.model = model
        self.relation_names = relation_names
        self.item_names = item_names
        self.entity_names = entity_names
        self.top_preferences = top_preferences
        self.max_paths = max_paths
        if item_to_entity is None:
            item_to_entity = torch.arange(model.num_items)
        self.item_to_entity = item_to_entity.cpu().tolist()
        self.entity_to_item = {e: i for i, e in enumerate(self.item_to_entity) if e >= 0}
        self.history: Dict[int, List[int]] = defaultdict(list)
        for u, i in train_edge_index.cpu().t().tolist():
            self.history[u].append(i)
        # (item entity, relation, outgoing) -> neighbouring entities
        self.adj: Dict[Tuple[int, int, bool], Set[int]] = defaultdict(set)
        for h, t, r in zip(*kg_edge_index.cpu().tolist(), kg_edge_type.cpu().tolist()):
            if h in self.entity_to_item:
                self.adj[(h, r, True)].add(t)
            if t in self.entity_to_item:
                self.adj[(t, r, False)].add(h)

    def _name(self, p: int) -> str:
        return self.relation_names[p] if self.relation_names is not None else f'preference {p}'

    def _top(self, weights: Tensor) -> List[PreferenceWeight]:
        k = min(self.top_preferences, weights.numel())
        val, idx = weights.topk(k)
        return [PreferenceWeight(int(i), self._name(int(i)), float(v))
                for v, i in zip(val, idx) if float(v) > 0]

    @torch.no_grad()
    def user_preferences(self, user: int) -> Tensor:
        r"""Mean preference weights :obj:`[P]` over the user's history items."""
        items = torch.tensor(self.history.get(int(user), []), dtype=torch.long)
        if items.numel() == 0:
            return torch.zeros(self.model.num_preferences)
        device = next(self.model.parameters()).device
        users = torch.full_like(items, int(user))
        return self.model.preference_weights(users.to(device), items.to(device)).mean(0).cpu()

    def paths(self, user: int, item: int, relation: int) -> List[KGPath]:
        r"""KG paths via :obj:`relation` between :obj:`item` and the user's history."""
        e_i = self.item_to_entity[item]
        if e_i < 0:
            return []
        out = []
        for j in self.history.get(int(user), []):
            e_j = self.item_to_entity[j]
            if e_j < 0 or j == item:
                continue
            for outgoing in (True, False):
                shared = self.adj.get((e_i, relation, outgoing), set()) & \
                    self.adj.get((e_j, relation, outgoing), set())
                out.extend(KGPath(j, relation, e, outgoing) for e in sorted(shared))
        return out

    @torch.no_grad()
    def explain(self, user: int, item: int) -> Explanation:
        r"""The :class:`Explanation` of recommending :obj:`item` to :obj:`user`."""
        user, item = int(user), int(item)
        if not 0 <= user < self.model.num_users or not 0 <= item < self.model.num_items:
            raise ValueError(f'user {user} / item {item} out of range')
        was_training = self.model.training
        self.model.eval()
        device = next(self.model.parameters()).device
        u = torch.tensor([user], device=device)
        i = torch.tensor([item], device=device)
        weights = self.model.preference_weights(u, i)[0].cpu()
        score = float(self.model(u, i)[0])
        self.model.train(was_training)
        prefs = self._top(weights)
        paths: List[KGPath] = []
        for p in prefs:
            paths.extend(self.paths(user, item, p.preference))
        return Explanation(user, item, score, prefs, paths[:self.max_paths],
                           self._top(self.user_preferences(user)), self.item_names,
                           self.entity_names, self.relation_names)

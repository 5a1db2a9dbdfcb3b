from .translational import TranslationalKGEModel, kg_score_fn, margin_loss, max_norm
from .transh import TransH, hyperplane_projection
from .transr import TransR, relation_projection

__all__ = ['TranslationalKGEModel', 'kg_score_fn', 'margin_loss', 'max_norm', 'TransH',
           'hyperplane_projection', 'TransR', 'relation_projection']

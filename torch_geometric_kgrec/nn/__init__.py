from .conv import *  # noqa: F401,F403
from .kge import *  # noqa: F401,F403
from .models import *  # noqa: F401,F403
from .losses import bpr_loss, l2_reg
from .readout import layer_sum
from .dcorr import (distance_correlation, distance_correlation_loss,
                    soft_distance_correlation_loss)
from .meta_preference import MetaPreference
from .index_checks import index_checks, set_index_checks
from .gather_dot import gather_dot
from .additive_attention import AdditiveAttention

from . import conv, kge, models  # noqa: F401

__all__ = conv.__all__ + kge.__all__ + models.__all__ + [
    'bpr_loss',
    'l2_reg',
    'layer_sum',
    'distance_correlation',
    'distance_correlation_loss',
    'soft_distance_correlation_loss',
    'MetaPreference',
    'index_checks',
    'set_index_checks',
    'gather_dot',
    'AdditiveAttention',
]

from .conv import *  # noqa: F401,F403
from .kge import *  # noqa: F401,F403
from .models import *  # noqa: F401,F403
from .losses import bpr_loss, l2_reg  # noqa: F401

from . import conv, kge, models  # noqa: F401

__all__ = conv.__all__ + kge.__all__ + models.__all__ + ['bpr_loss', 'l2_reg']

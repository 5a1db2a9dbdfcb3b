from .base import RecommenderMixin
from .bprmf import BPRMF, Popularity

__all__ = ['RecommenderMixin', 'BPRMF', 'Popularity']
from .kgcn import KGCN  # noqa: E402
__all__ += ["KGCN"]
from .mkr import MKR  # noqa: E402
__all__ += ["MKR"]
from .ktup import TUP, KTUP, st_gumbel_softmax, is_recommendation_step  # noqa: E402
from .cfkg import CFKG  # noqa: E402
from .cke import CKE  # noqa: E402
__all__ += ['TUP', 'KTUP', 'st_gumbel_softmax', 'is_recommendation_step', 'CFKG', 'CKE']
from .kmpn import KMPN  # noqa: E402
__all__ += ["KMPN"]
from .kgin import KGIN  # noqa: E402
from .kgat import KGAT  # noqa: E402
__all__ += ["KGIN", "KGAT"]
from .embedme import EmbedMe  # noqa: E402
from .id_dual_encoder import IDDualEncoder  # noqa: E402
from .cmf import CMF  # noqa: E402
from .emcdr import EMCDR  # noqa: E402
__all__ += ['EmbedMe', 'IDDualEncoder', 'CMF', 'EMCDR']
from .nrms_bert import NRMSBERT  # noqa: E402
from .ckmpn import CKMPN, CosSimKMPN, TeacherKMPN, teacher_projection  # noqa: E402
from .early_fusion import EarlyFusionKMPN, FusedEmbedding  # noqa: E402
from .late_fusion import LateFusionKMPN  # noqa: E402
from .mixture_of_experts import MixtureOfExperts  # noqa: E402
from .cold_start import cold_start_users  # noqa: E402
__all__ += ['NRMSBERT', 'CKMPN', 'CosSimKMPN', 'TeacherKMPN', 'teacher_projection',
            'EarlyFusionKMPN', 'FusedEmbedding', 'LateFusionKMPN', 'MixtureOfExperts',
            'cold_start_users']

# One operator per file; each helper appends its import and its name to __all__.
__all__ = []
from .cross_compress import CrossCompressUnit  # noqa: E402
__all__ += ["CrossCompressUnit"]
from .kgcn_conv import KGCNConv  # noqa: E402
__all__ += ["KGCNConv"]
from .gated_path_conv import GatedPathConv, add_inverse_relations  # noqa: E402
__all__ += ["GatedPathConv", "add_inverse_relations"]
from .relational_adj import RelationalAdj  # noqa: E402
from .kgin_conv import KGINConv  # noqa: E402
from .kgat_conv import KGATConv, kgat_attention  # noqa: E402
__all__ += ["RelationalAdj", "KGINConv", "KGATConv", "kgat_attention"]

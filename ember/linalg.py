"""``ember.linalg``: the ``torch.linalg`` namespace (implemented in ``ember.ops.linalg``)."""
from __future__ import annotations

from ember.ops.linalg import (
    LinAlgError,
    det,
    eigh,
    eigvalsh,
    inv,
    matmul,
    matrix_norm,
    matrix_power,
    matrix_rank,
    multi_dot,
    pinv,
    solve,
    solve_triangular,
    svdvals,
    vecdot,
    vector_norm,
)
from ember.ops.linalg import linalg_cholesky as cholesky
from ember.ops.linalg import linalg_cross as cross
from ember.ops.linalg import linalg_norm as norm
from ember.ops.linalg import linalg_qr as qr
from ember.ops.linalg import linalg_slogdet as slogdet
from ember.ops.linalg import linalg_svd as svd

__all__ = [
    "LinAlgError", "cholesky", "cross", "det", "eigh", "eigvalsh", "inv", "matmul",
    "matrix_norm", "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet",
    "solve", "solve_triangular", "svd", "svdvals", "vecdot", "vector_norm",
]

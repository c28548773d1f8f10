"""Building blocks of the docking networks: embeddings and an e3nn tensor-product convolution."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from e3nn import o3
from torch import Tensor, nn
from torch_geometric.utils import scatter

from disco_dock.core.layers import mlp


class CategoricalEmbedding(nn.Module):
    """Sum of one learned vector per categorical column: (N, C) category indices -> (N, dim)."""

    def __init__(self, cardinalities: Sequence[int], dim: int):
        super().__init__()
        self.table = nn.Embedding(sum(cardinalities), dim)
        self.register_buffer("offsets", torch.tensor([0, *cardinalities[:-1]]).cumsum(0), persistent=False)

    def forward(self, categories: Tensor) -> Tensor:
        return self.table(categories + self.offsets).sum(dim=1)


class DistanceEmbedding(nn.Module):
    """Gaussian radial basis on [0, `stop`] (longer distances clamped), then an MLP: (E,) -> (E, dim)."""

    def __init__(self, stop: float, num_basis: int, dim: int):
        super().__init__()
        self.register_buffer("centres", torch.linspace(0.0, stop, num_basis), persistent=False)
        self.width = stop / (num_basis - 1)
        self.mlp = mlp([num_basis, dim, dim])

    def forward(self, distance: Tensor) -> Tensor:
        offsets = distance.clamp(max=float(self.centres[-1])).unsqueeze(-1) - self.centres.to(distance.dtype)
        return self.mlp(torch.exp(-0.5 * (offsets / self.width) ** 2))


class EdgeTensorProduct(nn.Module):
    """Fully connected tensor product x (N, irreps_in) (x) y (N, irreps_sh) -> (N, irreps_out)
    with its own weights per row, for single-channel y (spherical harmonics).

    The maths and normalisation of e3nn's `FullyConnectedTensorProduct(..., shared_weights=False)`
    (component irreps, element-wise path normalisation), with e3nn's Clebsch-Gordan
    coefficients; the weights are laid out per output irrep, as (output channels, paths'
    input channels). Written out because e3nn's generated code slices the weight tensor once
    per path, and the backward of every slice zero-fills a gradient as large as all the
    weights: three times slower on a CPU at docking sizes.
    """

    def __init__(self, irreps_in: o3.Irreps, irreps_sh: o3.Irreps, irreps_out: o3.Irreps):
        super().__init__()
        self.irreps_in, self.irreps_sh, self.irreps_out = o3.Irreps(irreps_in), o3.Irreps(irreps_sh), o3.Irreps(irreps_out)
        if any(mul != 1 for mul, _ in self.irreps_sh):
            raise ValueError(f"the second input must have one channel per irrep, got {self.irreps_sh}")
        self.paths: list[list[tuple[int, int]]] = []  # per output irrep: its (input irrep, sh irrep) pairs
        for i_out, (_, ir_out) in enumerate(self.irreps_out):
            paths = [
                (i_in, i_sh)
                for i_in, (_, ir_in) in enumerate(self.irreps_in)
                for i_sh, (_, ir_sh) in enumerate(self.irreps_sh)
                if ir_out in ir_in * ir_sh
            ]
            for i_in, i_sh in paths:
                cg = o3.wigner_3j(self.irreps_in[i_in].ir.l, self.irreps_sh[i_sh].ir.l, ir_out.l)
                self.register_buffer(f"cg_{i_out}_{i_in}_{i_sh}", cg, persistent=False)
            self.paths.append(paths)
        fan_ins = [sum(self.irreps_in[i_in].mul for i_in, _ in paths) for paths in self.paths]
        self.weight_sizes = [fan_in * mul for fan_in, (mul, _) in zip(fan_ins, self.irreps_out)]
        self.weight_numel = sum(self.weight_sizes)

    def forward(self, x: Tensor, y: Tensor, weights: Tensor) -> Tensor:
        """`x` (N, irreps_in), `y` (N, irreps_sh), `weights` (N, weight_numel) -> (N, irreps_out)."""
        x_blocks = [x[:, part].reshape(len(x), mul, ir.dim) for (mul, ir), part in zip(self.irreps_in, self.irreps_in.slices())]
        y_blocks = [y[:, part] for part in self.irreps_sh.slices()]
        outputs = []
        for i_out, ((mul, ir), paths, weight) in enumerate(zip(self.irreps_out, self.paths, weights.split(self.weight_sizes, dim=1))):
            if not paths:
                outputs.append(x.new_zeros(len(x), mul * ir.dim))
                continue
            products = torch.cat(
                [
                    x_blocks[i_in] @ torch.einsum("nj,ijk->nik", y_blocks[i_sh], getattr(self, f"cg_{i_out}_{i_in}_{i_sh}"))
                    for i_in, i_sh in paths
                ],
                dim=1,
            )  # (N, fan_in, ir.dim)
            fan_in = products.shape[1]
            mixed = weight.reshape(len(x), mul, fan_in) @ products
            outputs.append(mixed.reshape(len(x), mul * ir.dim) * (ir.dim / fan_in) ** 0.5)
        return torch.cat(outputs, dim=1)


class TensorProductConv(nn.Module):
    """Equivariant convolution: the message of an edge is the tensor product of its source's
    features with the spherical harmonics of the edge, weighted per edge by an MLP of the
    edge's scalars (DiffDock's TensorProductConvLayer); messages are averaged at each target."""

    def __init__(self, in_irreps: o3.Irreps, sh_irreps: o3.Irreps, out_irreps: o3.Irreps, edge_dim: int, dropout: float = 0.0):
        super().__init__()
        self.product = EdgeTensorProduct(in_irreps, sh_irreps, out_irreps)
        self.weights = mlp([edge_dim, edge_dim, self.product.weight_numel], dropout)

    def forward(self, source: Tensor, edge_index: Tensor, edge_scalars: Tensor, edge_sh: Tensor, num_targets: int) -> Tensor:
        """`source` (N_src, in) features, `edge_index` (2, E) [source, target] -> (num_targets, out)."""
        messages = self.product(source[edge_index[0]], edge_sh, self.weights(edge_scalars))
        return scatter(messages, edge_index[1], dim=0, dim_size=num_targets, reduce="mean")


class EquivariantNorm(nn.Module):
    """Per-node normalisation of e3nn features: layer norm of the even scalars (0e), and each
    other irrep type divided by its root-mean-square norm over channels (unless
    `normalise_others` is False: they keep their per-node magnitude); learned scale per
    channel (and shift for 0e only, which keeps every parity)."""

    def __init__(self, irreps: o3.Irreps, eps: float = 1e-5, normalise_others: bool = True):
        super().__init__()
        self.irreps, self.eps, self.normalise_others = o3.Irreps(irreps), eps, normalise_others
        self.scale = nn.Parameter(torch.ones(self.irreps.num_irreps))
        num_even_scalars = sum(mul for mul, ir in self.irreps if ir == o3.Irrep("0e"))
        self.shift = nn.Parameter(torch.zeros(num_even_scalars))

    def forward(self, features: Tensor) -> Tensor:
        blocks, channel, shift = [], 0, 0
        for (mul, ir), part in zip(self.irreps, self.irreps.slices()):
            block = features[:, part].reshape(-1, mul, ir.dim)
            scale = self.scale[channel : channel + mul, None]
            if ir == o3.Irrep("0e"):
                centred = block - block.mean(dim=1, keepdim=True)
                block = centred * scale / (centred.pow(2).mean(dim=1, keepdim=True) + self.eps).sqrt()
                block = block + self.shift[shift : shift + mul, None]
                shift += mul
            elif self.normalise_others:
                block = block * scale / (block.pow(2).sum(dim=2, keepdim=True).mean(dim=1, keepdim=True) + self.eps).sqrt()
            else:
                block = block * scale
            blocks.append(block.reshape(-1, mul * ir.dim))
            channel += mul
        return torch.cat(blocks, dim=1)


def spherical_harmonics(irreps: o3.Irreps, vectors: Tensor) -> Tensor:
    """Component-normalised spherical harmonics of the directions of `vectors` (E, 3); zero vectors give 0 for l > 0."""
    return o3.spherical_harmonics(irreps, vectors, normalize=True, normalization="component")

"""The paper's 2D study: plain EDM diffusion against DisCo-Diff on a mixture of 8 Gaussians."""

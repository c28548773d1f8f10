"""Image backend of DisCo-Diff: ViT latent encoder, cross-attention U-Net, class-conditional prior."""

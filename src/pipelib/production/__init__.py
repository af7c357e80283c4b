"""Stage production: DARSLP text -> pose production.

Modules (each one thing):

* ``regions``: the four articulator regions of the 178-joint skeleton (body without wrists, right
  hand, left hand, face) and the split / merge between whole skeletons and region tensors
* ``autoencoder``: the region-wise pose autoencoder (``AEConfig``, ``PoseAutoencoder``, ``ae_loss``)
  whose 80 latent channels the generator predicts
* ``priors``: per-channel statistics of the training latents (mean, std, entropy, IQR) and the
  masked channel-prior KL term of phase-2 training
* ``figures``: histograms of the highest-entropy channels per region (the paper's Figure 3)
"""

"""Animators (warp, DeX diffusion), render requests/results and their caches."""

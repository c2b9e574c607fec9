"""Training of the motion model and the DeX animator (``dexstudio train motion|animator``)."""

"""Face tracking, pose solving and expression encoding of driving footage -> core motion."""

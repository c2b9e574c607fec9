"""Qt-free, torch-free model of a portrait performance: time, channels, keyframes,
curves, channel operators, document, undo commands, project schema."""

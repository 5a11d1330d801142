"""The sans-IO engine: commands, keys, codec, operations as generators, and the two drivers
that run them. It imports no adapter, no configuration and no runtime state."""

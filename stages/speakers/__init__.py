"""Who spoke: speaker embeddings (CAM++ from a PyPI wheel, run by onnxruntime) and their clustering."""

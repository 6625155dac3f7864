"""The decode engine: llama.cpp low-level calls, llguidance token masks, the batched loop."""

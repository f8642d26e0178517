"""LoRA fine-tuning and evaluation of the task adapters."""

"""Fine-tuning inside the package: `config` (one source of defaults), `data` (rows to examples),
`train` (the resumable peft loop), `card` (the model card written beside an adapter)."""

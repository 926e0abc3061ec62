"""The PyTorch fine-tuning loop in small pieces.

``batching``  length-grouped, resumable epoch plans and dynamic-padding collation
``optim``     AdamW parameter groups, warmup + linear decay, class weights, the weighted loss
``state``     resumable training state (model, optimizer, scheduler, RNG, position) as safetensors + JSON
``loop``      the epoch loop through HF Accelerate: accumulation, evaluation, early stopping, signals
``logs``      JSONL metrics log, optional TensorBoard, tqdm progress bar
``distributed`` the collectives of data-parallel training (accelerate launch / torchrun) and the shared run dir
"""

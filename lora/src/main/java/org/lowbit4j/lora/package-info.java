/**
 * LoRA and QLoRA fine-tuning of {@link org.lowbit4j.models.Llama} models: adapter configuration
 * ({@link org.lowbit4j.lora.LoraConfig}), the adapted linear layer over a frozen fp32, BF16 or NF4
 * (double-quantized) base ({@link org.lowbit4j.lora.LoraLinear}), injection by module name
 * ({@link org.lowbit4j.lora.LoraInjector}), adapter files, merge/unmerge
 * ({@link org.lowbit4j.lora.LoraAdapters}) and the NF4 checkpoint ({@link org.lowbit4j.lora.Nf4Checkpoint}).
 *
 * <pre>{@code
 * Llama model = Llama2cFormat.read(path, DataType.FLOAT);
 * var report = LoraInjector.inject(model, LoraConfig.defaults(), BaseFormat.NF4, 42L);
 * var opt = new AdamW(LoraAdapters.trainableParameters(model), AdamWConfig.DEFAULTS.withLr(2e-3));
 * // ... train: model.loss(x, y, -100).backward(); opt.step(); opt.zeroGrad();
 * LoraAdapters.save(model, dir);                       // adapter_config.json + adapter_model.bin
 * Llama merged = LoraAdapters.merge(model);            // plain fp32 model
 * Llama2cFormat.writeV0(merged, out);
 * }</pre>
 */
package org.lowbit4j.lora;

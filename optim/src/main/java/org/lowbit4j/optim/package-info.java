/**
 * Optimizers for lowbit4j parameters ({@link org.lowbit4j.autograd.Tensor} leaves updated in place):
 * {@link org.lowbit4j.optim.AdamW}, {@link org.lowbit4j.optim.Sgd}, the block-quantized
 * {@link org.lowbit4j.optim.AdamW8bit} and {@link org.lowbit4j.optim.AdamW4bit}, learning-rate schedules
 * ({@link org.lowbit4j.optim.LrSchedule}) and gradient clipping ({@link org.lowbit4j.optim.GradClip}).
 *
 * <pre>{@code
 * var opt = new AdamW(model.parameters(), AdamWConfig.DEFAULTS.withLr(3e-4));
 * var schedule = new LrSchedule.WarmupCosine(3e-4, 3e-5, 100, 2000);
 * for (long step = 0; step < 2000; step++) {
 *     opt.zeroGrad();
 *     loss(model, batch).backward();
 *     GradClip.clipGradNorm(opt.parameters(), 1.0);
 *     opt.setLr(schedule.lr(step));
 *     opt.step();
 * }
 * opt.save(Path.of("run/optim.bin"));   // exact: a reload continues bit for bit
 * }</pre>
 */
package org.lowbit4j.optim;

package org.lowbit4j.lora;

import java.util.List;

/**
 * What {@link LoraInjector#inject} did to a model.
 *
 * @param format the storage format of the wrapped base weights
 * @param wrapped dotted paths of the layers now {@link LoraLinear}, in model order
 * @param trainableParameters scalars that receive gradients (the adapters only)
 * @param frozenParameters scalars that do not (base weights, embeddings, norms, classifier)
 * @param frozenBytes bytes held by all frozen values as stored (packed NF4/BF16 bases counted packed)
 * @param baseParameters weights of the wrapped linears' frozen bases
 * @param baseBytes bytes those bases occupy, measured from the arrays they keep
 */
public record InjectionReport(BaseFormat format, List<String> wrapped, long trainableParameters,
        long frozenParameters, long frozenBytes, long baseParameters, long baseBytes) {
    /** @throws IllegalArgumentException for a negative count or a null field */
    public InjectionReport {
        if (format == null || wrapped == null) {
            throw new IllegalArgumentException("InjectionReport: format and wrapped must not be null");
        }
        wrapped = List.copyOf(wrapped);
        if (trainableParameters < 0 || frozenParameters < 0 || frozenBytes < 0 || baseParameters < 0
                || baseBytes < 0) {
            throw new IllegalArgumentException("InjectionReport: counts must be >= 0");
        }
    }

    /** @return how many layers were wrapped */
    public int count() {
        return wrapped.size();
    }

    /** @return bytes per frozen base weight (NF4 with double quantization: about 0.516) */
    public double baseBytesPerParameter() {
        return baseParameters == 0 ? 0 : (double) baseBytes / baseParameters;
    }

    /** @return trainable parameters as a fraction of all parameters */
    public double trainableFraction() {
        long all = trainableParameters + frozenParameters;
        return all == 0 ? 0 : (double) trainableParameters / all;
    }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT,
                "wrapped %d linear layers (%s base, %.4f bytes/weight); trainable %,d params (%.3f%%); frozen %,d params"
                        + " in %,d bytes", count(), format, baseBytesPerParameter(), trainableParameters,
                100 * trainableFraction(), frozenParameters, frozenBytes);
    }
}

package org.lowbit4j.optim;

import java.util.List;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.autograd.formats.DynamicMaps;
import org.lowbit4j.optim.kernel.MapEncoder;

/**
 * AdamW with 8-bit block-wise moments, as bitsandbytes' {@code AdamW8bit} (block-wise, non-paged): each
 * moment is one byte per element plus one fp32 absmax per block of 256 (about 2.03 bytes of state per
 * parameter). The first moment uses the signed 8-bit dynamic map, the second the unsigned one. Each step
 * decodes a block to fp32, updates it, and re-encodes it to the nearest codes, except that by default a
 * positive second moment never takes the zero code ({@link QuantConfig#nonzeroSecondMoment()}; turn it off
 * for bitsandbytes' exact rounding).
 *
 * <p>Tensors smaller than {@link QuantConfig#minQuantizedSize()} and those named in
 * {@link QuantConfig#fp32StateParams()} keep fp32 moments (exactly as {@link AdamW}).
 */
public final class AdamW8bit extends AdamFamily {
    private static final MapEncoder SIGNED = new MapEncoder(DynamicMaps.signed8());
    private static final MapEncoder UNSIGNED = new MapEncoder(DynamicMaps.unsigned8());
    private static final MapEncoder UNSIGNED_NONZERO = new MapEncoder(DynamicMaps.unsigned8(), true);

    private final QuantConfig quant;

    /** With {@link QuantConfig#DEFAULTS} and {@link UpdateOptions#DEFAULTS}. */
    public AdamW8bit(List<Tensor> params, AdamWConfig config) {
        this(params, config, QuantConfig.DEFAULTS, UpdateOptions.DEFAULTS);
    }

    /**
     * @param params parameters to update (distinct leaves, distinct names)
     * @param config hyperparameters
     * @param quant which tensors keep fp32 state
     * @param options threads and bf16 rounding
     * @throws IllegalArgumentException on an invalid parameter list or an override naming no parameter
     */
    public AdamW8bit(List<Tensor> params, AdamWConfig config, QuantConfig quant, UpdateOptions options) {
        super(checked(params, quant), config, options, (i, p) -> {
            int n = elements(p, i);
            return n < quant.minQuantizedSize() || quant.fp32StateParams().contains(p.name())
                    ? new Moments.Fp32(n)
                    : new Moments.Block8(n, SIGNED, quant.nonzeroSecondMoment() ? UNSIGNED_NONZERO : UNSIGNED);
        });
        this.quant = quant;
    }

    private static List<Tensor> checked(List<Tensor> params, QuantConfig quant) {
        if (params != null) {
            requireNames(params, quant.fp32StateParams());
        }
        return params;
    }

    /** @return which tensors keep fp32 state */
    public QuantConfig quantConfig() {
        return quant;
    }

    @Override
    String kind() {
        return "AdamW8bit";
    }
}

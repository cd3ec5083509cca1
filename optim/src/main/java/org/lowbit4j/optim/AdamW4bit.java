package org.lowbit4j.optim;

import java.util.List;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.autograd.formats.DynamicMaps;
import org.lowbit4j.optim.kernel.FourBitState;
import org.lowbit4j.optim.kernel.MapEncoder;

/**
 * AdamW with 4-bit moments after Li et al., "Memory Efficient Optimizers with 4-bit States" (NeurIPS 2023),
 * about 1.04 bytes of state per parameter (1.042 on the stories15M shapes).
 *
 * <ul>
 *   <li>First moment: block-wise, block 128, signed 4-bit dynamic map, one fp32 absmax per block.</li>
 *   <li>Second moment: the zero-free linear map (codes 1..16 mean 1/16..16/16, see
 *       {@link org.lowbit4j.optim.kernel.LinearMap4}) with rank-1 normalization: a tensor of shape
 *       {@code [d0, d1, ...]} is viewed as the matrix {@code [d0, d1*...]} and each element's scale is the
 *       smaller of its row's and its column's maximum. 1-D tensors (and matrices with a single row or
 *       column) use blocks of 128 instead.</li>
 * </ul>
 *
 * <p>Tensors smaller than {@link QuantConfig#minQuantizedSize()} and those named in
 * {@link QuantConfig#fp32StateParams()} keep fp32 moments.
 */
public final class AdamW4bit extends AdamFamily {
    private static final MapEncoder SIGNED4 = new MapEncoder(DynamicMaps.signed4());

    private final QuantConfig quant;

    /** With {@link QuantConfig#DEFAULTS} and {@link UpdateOptions#DEFAULTS}. */
    public AdamW4bit(List<Tensor> params, AdamWConfig config) {
        this(params, config, QuantConfig.DEFAULTS, UpdateOptions.DEFAULTS);
    }

    /**
     * @param params parameters to update (distinct leaves, distinct names)
     * @param config hyperparameters
     * @param quant which tensors keep fp32 state
     * @param options threads and bf16 rounding
     * @throws IllegalArgumentException on an invalid parameter list or an override naming no parameter
     */
    public AdamW4bit(List<Tensor> params, AdamWConfig config, QuantConfig quant, UpdateOptions options) {
        super(checked(params, quant), config, options, (i, p) -> {
            int n = elements(p, i);
            if (n < quant.minQuantizedSize() || quant.fp32StateParams().contains(p.name())) {
                return new Moments.Fp32(n);
            }
            long[] shape = p.shape();
            int rows = shape.length >= 2 ? (int) shape[0] : 0;
            int cols = rows == 0 ? 0 : n / rows;
            if (rows <= 1 || cols <= 1) {
                // NOTE: a single row or column would store one scale per element: no compression at all.
                rows = 0;
                cols = 0;
            }
            return new Moments.FourBit(new FourBitState(n, rows, cols, SIGNED4.zeroCode()), SIGNED4);
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
        return "AdamW4bit";
    }
}

package org.lowbit4j.optim;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lowbit4j.autograd.Tensor;
import org.lowbit4j.optim.kernel.FloatView;
import org.lowbit4j.optim.kernel.SgdKernel;
import org.lowbit4j.optim.kernel.Workers;

/**
 * Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight decay,
 * as PyTorch's {@code SGD} (see {@link SgdKernel} for the formulas). With momentum, a parameter's buffer is
 * created on its first step with a gradient (4 bytes of state per element from then on).
 */
public final class Sgd extends BaseOptimizer {
    private static final int ALIGN = 64;

    private final SgdConfig config;
    private final float[][] buffers;
    private final int[] lengths;

    /** With {@link UpdateOptions#DEFAULTS}. */
    public Sgd(List<Tensor> params, SgdConfig config) {
        this(params, config, UpdateOptions.DEFAULTS);
    }

    /**
     * @param params parameters to update (distinct leaves, distinct names)
     * @param config hyperparameters
     * @param options threads and bf16 rounding
     * @throws IllegalArgumentException on an invalid parameter list
     */
    public Sgd(List<Tensor> params, SgdConfig config, UpdateOptions options) {
        super(params, config.lr(), options);
        this.config = config;
        this.buffers = new float[params.size()][];
        this.lengths = new int[params.size()];
        for (int i = 0; i < lengths.length; i++) {
            lengths[i] = AdamFamily.elements(params.get(i), i);
        }
    }

    /** @return the hyperparameters given at construction (the live learning rate is {@link #lr()}) */
    public SgdConfig config() {
        return config;
    }

    @Override
    String kind() {
        return "SGD";
    }

    @Override
    Map<String, Double> hyperparameters() {
        Map<String, Double> h = new LinkedHashMap<>();
        h.put("momentum", config.momentum());
        h.put("dampening", config.dampening());
        h.put("weightDecay", config.weightDecay());
        h.put("nesterov", config.nesterov() ? 1.0 : 0.0);
        return h;
    }

    @Override
    void update(int index, FloatView p, FloatView g) {
        boolean first = false;
        if (config.momentum() != 0 && buffers[index] == null) {
            buffers[index] = new float[lengths[index]];
            first = true;
        }
        var c = new SgdKernel.Coeffs((float) lr(), (float) config.weightDecay(), (float) config.momentum(),
                (float) (1 - config.dampening()), config.nesterov(), first);
        float[] buf = buffers[index];
        int n = lengths[index];
        Workers w = workers();
        int chunks = w.chunksFor(n, ALIGN);
        w.run(chunks, k -> {
            int from = Workers.chunkStart(k, chunks, n, ALIGN);
            int to = Workers.chunkStart(k + 1, chunks, n, ALIGN);
            SgdKernel.step(p.segment(), g.segment(), from, buf, from, to - from, c);
        });
    }

    @Override
    long stateBytes(int index) {
        return buffers[index] == null ? 0 : 4L * buffers[index].length;
    }

    @Override
    void writeState(int index, DataOutputStream out) throws IOException {
        out.writeBoolean(buffers[index] != null);
        if (buffers[index] != null) {
            StateIO.writeFloats(out, buffers[index]);
        }
    }

    @Override
    Runnable readState(int index, DataInputStream in, String what) throws IOException {
        float[] buf = in.readBoolean() ? StateIO.readFloats(in, lengths[index], what + " momentum_buffer") : null;
        if (buf != null && config.momentum() == 0) {
            throw new StateFileException(what + ": has a momentum buffer, this optimizer has no momentum");
        }
        return () -> buffers[index] = buf;
    }
}

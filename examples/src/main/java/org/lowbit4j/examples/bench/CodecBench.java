package org.lowbit4j.examples.bench;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.lowbit4j.autograd.formats.Bf16;
import org.lowbit4j.autograd.formats.BlockwiseMapCodec;
import org.lowbit4j.autograd.formats.DynamicMaps;
import org.lowbit4j.autograd.formats.Fp16;
import org.lowbit4j.autograd.formats.Fp8;
import org.lowbit4j.autograd.formats.FourBitCodebook;
import org.lowbit4j.autograd.formats.IntCodec;
import org.lowbit4j.autograd.formats.Packed4Codec;
import org.lowbit4j.autograd.formats.Segments;
import org.lowbit4j.autograd.quant.QuantizedTensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Single-thread throughput of every codec, encode and decode, over {@code n} elements (16M by default), in
 * millions of elements per second: the Vector API kernel, its scalar twin, and ND4J's own conversion
 * ({@code assign} between a FLOAT and a FLOAT16 / BFLOAT16 array, no allocation) where one exists.
 *
 * <p>Usage: {@code ./lowbit4j bench codecs [--n ELEMENTS] [--budget SECONDS] [--only SUBSTRING]}. Each cell is the
 * best of several interleaved runs after warm-up, timed by the calling thread's CPU time (ND4J is set to one
 * thread so that its work runs on that thread too): on a shared machine, wall time and slower runs measure other
 * processes, not the kernel. The 16-bit and FP8 kernels run on ND4J's native buffers through {@link Segments}; the block-wise
 * codecs on Java arrays. Inputs are N(0, 1).
 */
public final class CodecBench {
    private static final java.lang.management.ThreadMXBean CPU = java.lang.management.ManagementFactory.getThreadMXBean();

    private CodecBench() {
    }

    /** A timed operation. */
    @FunctionalInterface
    interface Op {
        void run();
    }

    /** One table row: a name, a target (M elements/s, 0 = none) and its vector / scalar / ND4J operations. */
    record Row(String name, double target, Op vector, Op scalar, Op nd4j) {
    }

    public static void main(String[] args) {
        run(args);
    }

    /**
     * Runs the benchmark and prints a Markdown table.
     *
     * @param args {@code --n ELEMENTS} (default 16777216), {@code --budget SECONDS} (default 1.0),
     *     {@code --only SUBSTRING}
     * @throws IllegalArgumentException on an unknown option or a bad value
     */
    public static void run(String[] args) {
        int n = 1 << 24;
        double budget = 1.0;
        String only = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--n" -> n = Integer.parseInt(value(args, ++i, "--n"));
                case "--budget" -> budget = Double.parseDouble(value(args, ++i, "--budget"));
                case "--only" -> only = value(args, ++i, "--only");
                default -> throw new IllegalArgumentException("CodecBench: unknown option '" + args[i]
                        + "'; expected --n ELEMENTS, --budget SECONDS, --only SUBSTRING");
            }
        }
        if (n < 64 || n % 64 != 0) {
            throw new IllegalArgumentException("CodecBench: --n must be a positive multiple of 64, got " + n);
        }
        final int len = n;
        Nd4j.getEnvironment().setMaxThreads(1);
        Nd4j.getEnvironment().setMaxMasterThreads(1);
        System.out.printf(Locale.ROOT, "# lowbit4j CodecBench, %d elements, 1 thread (ND4J max threads %d), %d cores;"
                + " best of interleaved runs, thread CPU time%n", n, Nd4j.getEnvironment().maxThreads(),
                Runtime.getRuntime().availableProcessors());

        Random r = new Random(1);
        float[] src = new float[n];
        for (int i = 0; i < n; i++) {
            src[i] = (float) r.nextGaussian();
        }
        INDArray f32 = Nd4j.create(src, new long[] {n}, 'c');
        INDArray f32out = Nd4j.create(DataType.FLOAT, n);
        INDArray bf16 = Nd4j.create(DataType.BFLOAT16, n);
        INDArray f16 = Nd4j.create(DataType.FLOAT16, n);
        INDArray u8 = Nd4j.create(DataType.UINT8, n);
        MemorySegment sF = Segments.of(f32);
        MemorySegment sOut = Segments.of(f32out);
        MemorySegment sBf = Segments.of(bf16);
        MemorySegment sH = Segments.of(f16);
        MemorySegment sU8 = Segments.of(u8);
        Bf16.encode(sF, sBf, n);
        Fp16.encode(sF, sH, n);

        byte[] packed = new byte[n / 2];
        float[] absmax = new float[n / 64];
        float[] dst = new float[n];
        Packed4Codec.quantize(src, 0, n, FourBitCodebook.NF4, 64, packed, absmax);
        QuantizedTensor dq = QuantizedTensor.quantize(src, new long[] {n / 4096, 4096}, FourBitCodebook.NF4, 64, true);
        float[] map = DynamicMaps.signed8();
        byte[] codes8 = new byte[n];
        float[] absmax8 = new float[n / 256];
        BlockwiseMapCodec.quantize(src, 0, n, map, 256, codes8, 0, absmax8, 0);
        IntCodec int8 = IntCodec.symmetric(8);
        IntCodec.Params p8 = int8.params(-4f, 4f);

        List<Row> rows = new ArrayList<>();
        rows.add(new Row("FP32 → BF16", 1000, () -> Bf16.encode(sF, sBf, len), () -> Bf16.encodeScalar(sF, sBf, len),
                () -> bf16.assign(f32)));
        rows.add(new Row("BF16 → FP32", 1000, () -> Bf16.decode(sBf, sOut, len), () -> Bf16.decodeScalar(sBf, sOut, len),
                () -> f32out.assign(bf16)));
        rows.add(new Row("FP32 → FP16", 1000, () -> Fp16.encode(sF, sH, len), () -> Fp16.encodeScalar(sF, sH, len),
                () -> f16.assign(f32)));
        rows.add(new Row("FP16 → FP32", 1000, () -> Fp16.decode(sH, sOut, len), () -> Fp16.decodeScalar(sH, sOut, len),
                () -> f32out.assign(f16)));
        for (Fp8 f : Fp8.values()) {
            rows.add(new Row("FP32 → FP8 " + f + " (saturating)", 500, () -> f.encode(sF, sU8, len, true),
                    () -> f.encodeScalar(sF, sU8, len, true), null));
            rows.add(new Row("FP8 " + f + " → FP32", 500, () -> f.decode(sU8, sOut, len),
                    () -> f.decodeScalar(sU8, sOut, len), null));
        }
        rows.add(new Row("NF4 quantize (block 64)", 200,
                () -> Packed4Codec.quantize(src, 0, len, FourBitCodebook.NF4, 64, packed, absmax),
                () -> Packed4Codec.quantizeScalar(src, 0, len, FourBitCodebook.NF4, 64, packed, absmax), null));
        rows.add(new Row("NF4 dequantize → FP32", 500,
                () -> Packed4Codec.dequantize(packed, 0, len, FourBitCodebook.NF4, 64, absmax, 0, dst, 0),
                () -> Packed4Codec.dequantizeScalar(packed, 0, len, FourBitCodebook.NF4, 64, absmax, 0, dst, 0), null));
        rows.add(new Row("NF4+DQ tensor dequantizeRows → FP32", 500,
                () -> dq.dequantizeRows(0, len / 4096, dst, 0), null, null));
        INDArray tile = Nd4j.create(DataType.FLOAT, n / 4096, 4096);
        rows.add(new Row("NF4+DQ tensor dequantizeRows → ND4J array", 500,
                () -> dq.dequantizeRows(0, len / 4096, tile), null, null));
        rows.add(new Row("NF4+DQ tensor quantize (block 64)", 200,
                () -> QuantizedTensor.quantize(src, new long[] {len / 4096, 4096}, FourBitCodebook.NF4, 64, true),
                null, null));
        rows.add(new Row("dynamic map 8-bit quantize (block 256)", 0,
                () -> BlockwiseMapCodec.quantize(src, 0, len, map, 256, codes8, 0, absmax8, 0),
                () -> BlockwiseMapCodec.quantizeScalar(src, 0, len, map, 256, codes8, 0, absmax8, 0), null));
        rows.add(new Row("dynamic map 8-bit dequantize", 0,
                () -> BlockwiseMapCodec.dequantize(codes8, 0, len, map, 256, absmax8, 0, dst, 0),
                () -> BlockwiseMapCodec.dequantizeScalar(codes8, 0, len, map, 256, absmax8, 0, dst, 0), null));
        rows.add(new Row("INT8 encode (fixed scale)", 0, () -> int8.encode(src, 0, len, p8, codes8, 0),
                () -> int8.encodeScalar(src, 0, len, p8, codes8, 0), null));
        rows.add(new Row("INT8 decode", 0, () -> int8.decode(codes8, 0, len, p8, dst, 0),
                () -> int8.decodeScalar(codes8, 0, len, p8, dst, 0), null));

        System.out.println();
        System.out.println("| codec | Vector API (M elem/s) | scalar twin | ND4J assign | target | meets |");
        System.out.println("|---|---:|---:|---:|---:|:---:|");
        for (Row row : rows) {
            if (only != null && !row.name().contains(only)) {
                continue;
            }
            List<Op> ops = new ArrayList<>();
            ops.add(row.vector());
            if (row.scalar() != null) {
                ops.add(row.scalar());
            }
            if (row.nd4j() != null) {
                ops.add(row.nd4j());
            }
            double[] rate = rates(ops, n, budget);
            int k = 1;
            String scalar = row.scalar() != null ? fmt(rate[k++]) : "–";
            String nd = row.nd4j() != null ? fmt(rate[k]) : "–";
            System.out.printf(Locale.ROOT, "| %s | %s | %s | %s | %s | %s |%n", row.name(), fmt(rate[0]), scalar, nd,
                    row.target() > 0 ? fmt(row.target()) : "–",
                    row.target() > 0 ? (rate[0] >= row.target() ? "yes" : "no") : "");
        }
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.0f", v);
    }

    /**
     * Best rate (M elements/s) of each op over interleaved rounds, by thread CPU time: on a shared machine slower
     * runs and wall time measure other processes, not the kernel.
     */
    static double[] rates(List<Op> ops, long elements, double budgetSeconds) {
        int k = ops.size();
        double firstSum = 0;
        for (Op op : ops) {
            for (int w = 0; w < 3; w++) {
                op.run();
            }
            long t0 = CPU.getCurrentThreadCpuTime();
            op.run();
            firstSum += (CPU.getCurrentThreadCpuTime() - t0) / 1e9;
        }
        int rounds = (int) Math.max(3, Math.min(25, Math.round(budgetSeconds * k / Math.max(firstSum, 1e-6))));
        double[][] t = new double[k][rounds];
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < k; i++) {
                long s = CPU.getCurrentThreadCpuTime();
                ops.get(i).run();
                t[i][r] = Math.max(1, CPU.getCurrentThreadCpuTime() - s) / 1e9;
            }
        }
        double[] out = new double[k];
        for (int i = 0; i < k; i++) {
            Arrays.sort(t[i]);
            out[i] = elements / t[i][0] / 1e6;
        }
        return out;
    }

    private static String value(String[] args, int i, String opt) {
        if (i >= args.length) {
            throw new IllegalArgumentException("CodecBench: " + opt + " needs a value");
        }
        return args[i];
    }
}

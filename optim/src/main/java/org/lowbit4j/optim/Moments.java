package org.lowbit4j.optim;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import org.lowbit4j.optim.kernel.AdamCoeffs;
import org.lowbit4j.optim.kernel.AdamKernel;
import org.lowbit4j.optim.kernel.Block8Kernel;
import org.lowbit4j.optim.kernel.FourBitKernel;
import org.lowbit4j.optim.kernel.FourBitState;
import org.lowbit4j.optim.kernel.MapEncoder;
import org.lowbit4j.optim.kernel.Workers;

/** The AdamW moments of one parameter, in one of three storage formats. */
sealed interface Moments permits Moments.Fp32, Moments.Block8, Moments.FourBit {

    /** One AdamW step over the whole tensor. */
    void update(MemorySegment p, MemorySegment g, AdamCoeffs c, Workers workers);

    /** @return bytes held */
    long bytes();

    /** @return the format tag written to state files */
    String tag();

    /** Writes the arrays (the tag is written by the caller). */
    void write(DataOutputStream out) throws IOException;

    /**
     * @return a new instance of the same format and size read from {@code in}
     * @throws StateFileException on a size mismatch
     */
    Moments read(DataInputStream in, String what) throws IOException;

    /** fp32 moments. */
    final class Fp32 implements Moments {
        private static final int ALIGN = 64;
        private final float[] m;
        private final float[] v;

        Fp32(int n) {
            this(new float[n], new float[n]);
        }

        private Fp32(float[] m, float[] v) {
            this.m = m;
            this.v = v;
        }

        @Override
        public void update(MemorySegment p, MemorySegment g, AdamCoeffs c, Workers workers) {
            int n = m.length;
            int chunks = workers.chunksFor(n, ALIGN);
            workers.run(chunks, k -> {
                int from = Workers.chunkStart(k, chunks, n, ALIGN);
                int to = Workers.chunkStart(k + 1, chunks, n, ALIGN);
                AdamKernel.step(p, g, from, m, v, from, to - from, c);
            });
        }

        @Override
        public long bytes() {
            return 8L * m.length;
        }

        @Override
        public String tag() {
            return "fp32";
        }

        @Override
        public void write(DataOutputStream out) throws IOException {
            StateIO.writeFloats(out, m);
            StateIO.writeFloats(out, v);
        }

        @Override
        public Moments read(DataInputStream in, String what) throws IOException {
            return new Fp32(StateIO.readFloats(in, m.length, what + " exp_avg"),
                    StateIO.readFloats(in, v.length, what + " exp_avg_sq"));
        }
    }

    /** 8-bit block-wise moments (block 256, signed / unsigned dynamic maps). */
    final class Block8 implements Moments {
        static final int BLOCK = 256;
        private final Block8Kernel.State s;
        private final int n;
        private final MapEncoder mMap;
        private final MapEncoder vMap;

        Block8(int n, MapEncoder mMap, MapEncoder vMap) {
            this(n, mMap, vMap, zeroCodes(n, mMap), new float[blocks(n)], zeroCodes(n, vMap), new float[blocks(n)]);
        }

        private Block8(int n, MapEncoder mMap, MapEncoder vMap, byte[] mc, float[] ma, byte[] vc, float[] va) {
            this.n = n;
            this.mMap = mMap;
            this.vMap = vMap;
            this.s = new Block8Kernel.State(mc, ma, vc, va, BLOCK);
        }

        private static int blocks(int n) {
            return (n + BLOCK - 1) / BLOCK;
        }

        private static byte[] zeroCodes(int n, MapEncoder map) {
            byte[] c = new byte[n];
            java.util.Arrays.fill(c, (byte) map.zeroCode());
            return c;
        }

        Block8Kernel.State state() {
            return s;
        }

        @Override
        public void update(MemorySegment p, MemorySegment g, AdamCoeffs c, Workers workers) {
            int chunks = workers.chunksFor(n, BLOCK);
            workers.run(chunks, k -> Block8Kernel.update(p, g, s, Workers.chunkStart(k, chunks, n, BLOCK),
                    Workers.chunkStart(k + 1, chunks, n, BLOCK), c, mMap, vMap));
        }

        @Override
        public long bytes() {
            return 2L * n + 8L * blocks(n);
        }

        @Override
        public String tag() {
            return "block8";
        }

        @Override
        public void write(DataOutputStream out) throws IOException {
            StateIO.writeBytes(out, s.mCodes());
            StateIO.writeFloats(out, s.mAbsmax());
            StateIO.writeBytes(out, s.vCodes());
            StateIO.writeFloats(out, s.vAbsmax());
        }

        @Override
        public Moments read(DataInputStream in, String what) throws IOException {
            return new Block8(n, mMap, vMap, StateIO.readBytes(in, n, what + " exp_avg codes"),
                    StateIO.readFloats(in, blocks(n), what + " exp_avg absmax"),
                    StateIO.readBytes(in, n, what + " exp_avg_sq codes"),
                    StateIO.readFloats(in, blocks(n), what + " exp_avg_sq absmax"));
        }
    }

    /** 4-bit moments: block-wise first moment, rank-1 (or block-wise for 1-D) zero-free second moment. */
    final class FourBit implements Moments {
        private final FourBitState s;
        private final MapEncoder mMap;

        FourBit(FourBitState s, MapEncoder mMap) {
            this.s = s;
            this.mMap = mMap;
        }

        FourBitState state() {
            return s;
        }

        @Override
        public void update(MemorySegment p, MemorySegment g, AdamCoeffs c, Workers workers) {
            FourBitKernel.update(p, g, s, c, mMap, workers);
        }

        @Override
        public long bytes() {
            return s.bytes();
        }

        @Override
        public String tag() {
            return s.isRank1() ? "4bit-rank1" : "4bit-block";
        }

        @Override
        public void write(DataOutputStream out) throws IOException {
            StateIO.writeBytes(out, s.mCodes());
            StateIO.writeFloats(out, s.mAbsmax());
            StateIO.writeBytes(out, s.vCodes());
            StateIO.writeFloats(out, s.vAbsmax());
            StateIO.writeShorts(out, s.rowMaxBits());
            StateIO.writeShorts(out, s.colMaxBits());
        }

        @Override
        public Moments read(DataInputStream in, String what) throws IOException {
            byte[] mc = StateIO.readBytes(in, s.mCodes().length, what + " exp_avg codes");
            float[] ma = StateIO.readFloats(in, s.mAbsmax().length, what + " exp_avg absmax");
            byte[] vc = StateIO.readBytes(in, s.vCodes().length, what + " exp_avg_sq codes");
            float[] va = StateIO.readFloats(in, s.vAbsmax().length, what + " exp_avg_sq absmax");
            short[] rb = StateIO.readShorts(in, s.rowMaxBits().length, what + " exp_avg_sq row maxima");
            short[] cb = StateIO.readShorts(in, s.colMaxBits().length, what + " exp_avg_sq column maxima");
            FourBitState t = new FourBitState(s.length(), s.rows(), s.cols(), mMap.zeroCode());
            System.arraycopy(mc, 0, t.mCodes(), 0, mc.length);
            System.arraycopy(ma, 0, t.mAbsmax(), 0, ma.length);
            System.arraycopy(vc, 0, t.vCodes(), 0, vc.length);
            System.arraycopy(va, 0, t.vAbsmax(), 0, va.length);
            System.arraycopy(rb, 0, t.rowMaxBits(), 0, rb.length);
            System.arraycopy(cb, 0, t.colMaxBits(), 0, cb.length);
            return new FourBit(t, mMap);
        }
    }
}

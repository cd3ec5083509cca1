package org.lowbit4j.autograd.formats;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The bulk kernels peel scalar elements until native data is 32-byte aligned; check every misalignment and odd
 * lengths against the scalar twins, on native memory as ND4J hands it out.
 */
class UnalignedNativeTest {
    private interface Kernel {
        void run(MemorySegment src, MemorySegment dst, long n);
    }

    private static void compare(String name, Kernel vector, Kernel scalar, int srcBytes, int dstBytes) {
        Random r = new Random(name.hashCode());
        try (Arena arena = Arena.ofConfined()) {
            int max = 301;
            MemorySegment src = arena.allocate(max * srcBytes + 64L, 64);
            for (long b = 0; b < src.byteSize() / 4; b++) {
                src.set(ValueLayout.JAVA_INT_UNALIGNED, b * 4, srcBytes == 4
                        ? Float.floatToRawIntBits((float) (r.nextGaussian() * Math.pow(10, r.nextInt(9) - 4)))
                        : r.nextInt());
            }
            MemorySegment d1 = arena.allocate(max * dstBytes + 64L, 64);
            MemorySegment d2 = arena.allocate(max * dstBytes + 64L, 64);
            for (int srcOff = 0; srcOff < 32; srcOff += srcBytes) {
                for (int dstOff = 0; dstOff < 32; dstOff += dstBytes) {
                    for (int n : new int[] {0, 1, 3, 8, 13, 64, 301}) {
                        var s = src.asSlice(srcOff, (long) n * srcBytes);
                        d1.fill((byte) 0x11);
                        d2.fill((byte) 0x11);
                        vector.run(s, d1.asSlice(dstOff, (long) n * dstBytes), n);
                        scalar.run(s, d2.asSlice(dstOff, (long) n * dstBytes), n);
                        assertEquals(-1, d1.mismatch(d2), name + " src+" + srcOff + " dst+" + dstOff + " n=" + n);
                    }
                }
            }
        }
    }

    @Test
    void everyMisalignmentMatchesTheScalarTwins() {
        compare("bf16 encode", Bf16::encode, Bf16::encodeScalar, 4, 2);
        compare("bf16 decode", Bf16::decode, Bf16::decodeScalar, 2, 4);
        compare("fp16 encode", Fp16::encode, Fp16::encodeScalar, 4, 2);
        compare("fp16 decode", Fp16::decode, Fp16::decodeScalar, 2, 4);
        for (Fp8 f : Fp8.values()) {
            compare(f + " encode sat", (s, d, n) -> f.encode(s, d, n, true), (s, d, n) -> f.encodeScalar(s, d, n, true), 4, 1);
            compare(f + " encode", (s, d, n) -> f.encode(s, d, n, false), (s, d, n) -> f.encodeScalar(s, d, n, false), 4, 1);
            compare(f + " decode", f::decode, f::decodeScalar, 1, 4);
        }
    }
}

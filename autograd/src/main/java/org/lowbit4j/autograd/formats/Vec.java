package org.lowbit4j.autograd.formats;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector species every kernel of this package uses: the machine's widest float vectors up to 512 bits (16 lanes
 * on AVX-512, 8 on AVX2), ints of the same shape, and the short and byte species of the same lane count for
 * narrowing stores.
 */
final class Vec {
    // NOTE: one float width for the whole JVM. The engine's kernels (autograd.ops, optim) use the preferred
    // species; when these codecs used 256-bit vectors beside them, the shared vector-store intrinsics saw both
    // shapes and fell back to their slow path in a training JVM: bf16 rounding ran ~10x slower than alone.
    private static final boolean WIDE = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512;
    static final VectorSpecies<Float> F = WIDE ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;
    static final VectorSpecies<Integer> I = WIDE ? IntVector.SPECIES_512 : IntVector.SPECIES_256;
    static final VectorSpecies<Short> S = WIDE ? ShortVector.SPECIES_256 : ShortVector.SPECIES_128;
    static final VectorSpecies<Byte> B = WIDE ? ByteVector.SPECIES_128 : ByteVector.SPECIES_64;
    static final int LANES = F.length();
    static final java.nio.ByteOrder LE = java.nio.ByteOrder.LITTLE_ENDIAN;
    static final java.lang.foreign.ValueLayout.OfFloat LE_FLOAT =
            java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    static final java.lang.foreign.ValueLayout.OfShort LE_SHORT =
            java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    static final java.lang.foreign.ValueLayout.OfByte BYTE = java.lang.foreign.ValueLayout.JAVA_BYTE;

    /**
     * Elements to process one by one before {@code seg}'s float data reaches a vector-size boundary: a vector access
     * that straddles a cache line costs about twice as much, and ND4J buffers start 16 bytes into one.
     *
     * @return the scalar head length (0 for heap segments), at most n
     */
    static long alignHead(java.lang.foreign.MemorySegment seg, long n) {
        if (!seg.isNative() || (seg.address() & 3) != 0) {
            return 0;
        }
        int bytes = F.vectorByteSize();
        long mis = seg.address() & (bytes - 1);
        return Math.min(n, mis == 0 ? 0 : (bytes - mis) / 4);
    }

    /** @throws IllegalArgumentException unless n elements of the given sizes fit both segments */
    static void checkBulk(String what, java.lang.foreign.MemorySegment src, int srcBytes,
            java.lang.foreign.MemorySegment dst, int dstBytes, long n) {
        if (n < 0 || n * srcBytes > src.byteSize() || n * dstBytes > dst.byteSize()) {
            throw new IllegalArgumentException(what + ": " + n + " elements need " + n * srcBytes
                    + " source and " + n * dstBytes + " destination bytes, segments have " + src.byteSize()
                    + " and " + dst.byteSize());
        }
    }

    private Vec() {
    }
}

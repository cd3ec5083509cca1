package org.lowbit4j.autograd.formats;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector species every kernel of this package uses: 256-bit floats and ints (8 lanes), with the byte
 * (64-bit) and short (128-bit) species of the same lane count for narrowing stores.
 */
final class Vec {
    // NOTE: a fixed 8-lane shape keeps narrowing conversions (int -> byte needs a 64-bit byte shape) valid
    // on every AVX2 or AVX-512 machine; 512-bit vectors gave no reliable gain in these memory-bound loops.
    static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    static final VectorSpecies<Short> S = ShortVector.SPECIES_128;
    static final VectorSpecies<Byte> B = ByteVector.SPECIES_64;
    static final int LANES = F.length();
    static final java.nio.ByteOrder LE = java.nio.ByteOrder.LITTLE_ENDIAN;
    static final java.lang.foreign.ValueLayout.OfFloat LE_FLOAT =
            java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    static final java.lang.foreign.ValueLayout.OfShort LE_SHORT =
            java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    static final java.lang.foreign.ValueLayout.OfByte BYTE = java.lang.foreign.ValueLayout.JAVA_BYTE;

    /**
     * Elements to process one by one before {@code seg}'s float data reaches a 32-byte boundary: a 256-bit access
     * that straddles a cache line costs about twice as much, and ND4J buffers start 16 bytes into one.
     *
     * @return the scalar head length (0 for heap segments), at most n
     */
    static long alignHead(java.lang.foreign.MemorySegment seg, long n) {
        if (!seg.isNative() || (seg.address() & 3) != 0) {
            return 0;
        }
        long mis = seg.address() & 31;
        return Math.min(n, mis == 0 ? 0 : (32 - mis) / 4);
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

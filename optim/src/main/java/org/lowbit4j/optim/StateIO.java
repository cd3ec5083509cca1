package org.lowbit4j.optim;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Bulk array I/O of state files: an int length, then the elements little-endian. */
final class StateIO {
    private static final int CHUNK = 1 << 16;

    private StateIO() {
    }

    static void writeFloats(DataOutputStream out, float[] a) throws IOException {
        out.writeInt(a.length);
        ByteBuffer buf = ByteBuffer.allocate(CHUNK * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < a.length; i += CHUNK) {
            int n = Math.min(CHUNK, a.length - i);
            buf.clear();
            buf.asFloatBuffer().put(a, i, n);
            out.write(buf.array(), 0, n * 4);
        }
    }

    static void writeShorts(DataOutputStream out, short[] a) throws IOException {
        out.writeInt(a.length);
        ByteBuffer buf = ByteBuffer.allocate(a.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        buf.asShortBuffer().put(a);
        out.write(buf.array());
    }

    /** @throws StateFileException if the stored length differs from {@code expected} */
    static short[] readShorts(DataInputStream in, int expected, String what) throws IOException {
        int n = in.readInt();
        if (n != expected) {
            throw new StateFileException(what + ": " + n + " shorts in the file, expected " + expected);
        }
        byte[] raw = new byte[n * 2];
        in.readFully(raw);
        short[] a = new short[n];
        ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asShortBuffer().get(a);
        return a;
    }

    static void writeBytes(DataOutputStream out, byte[] a) throws IOException {
        out.writeInt(a.length);
        out.write(a);
    }

    /**
     * @param what names the array in messages
     * @throws StateFileException if the stored length differs from {@code expected}
     */
    static float[] readFloats(DataInputStream in, int expected, String what) throws IOException {
        int n = in.readInt();
        if (n != expected) {
            throw new StateFileException(what + ": " + n + " floats in the file, expected " + expected);
        }
        float[] a = new float[n];
        byte[] raw = new byte[CHUNK * 4];
        for (int i = 0; i < n; i += CHUNK) {
            int k = Math.min(CHUNK, n - i);
            in.readFully(raw, 0, k * 4);
            ByteBuffer.wrap(raw, 0, k * 4).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(a, i, k);
        }
        return a;
    }

    /** @throws StateFileException if the stored length differs from {@code expected} */
    static byte[] readBytes(DataInputStream in, int expected, String what) throws IOException {
        int n = in.readInt();
        if (n != expected) {
            throw new StateFileException(what + ": " + n + " bytes in the file, expected " + expected);
        }
        byte[] a = new byte[n];
        in.readFully(a);
        return a;
    }
}

package org.lowbit4j.datasets;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;

/**
 * A literal port of run.c's quadratic {@code encode} loop (rescan all pairs per merge, strict
 * {@code >} against -1e10f), used as the reference twin of {@link Tokenizer#encodeUtf8}.
 */
final class RunCReference {
    private RunCReference() {
    }

    static int[] encode(Tokenizer t, String text, boolean bos, boolean eos) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        var tokens = new ArrayList<Integer>();
        if (bos) {
            tokens.add(1);
        }
        if (utf8.length > 0) {
            tokens.add(t.lookup(new byte[] {' '}));
        }
        var buf = new byte[8];
        int len = 0;
        for (int c = 0; c < utf8.length; c++) {
            if ((utf8[c] & 0xC0) != 0x80) {
                len = 0;
            }
            buf[len++] = utf8[c];
            boolean nextCont = c + 1 < utf8.length && (utf8[c + 1] & 0xC0) == 0x80;
            if (nextCont && len < 4) {
                continue;
            }
            int id = t.lookup(Arrays.copyOf(buf, len));
            if (id != -1) {
                tokens.add(id);
            } else {
                for (int i = 0; i < len; i++) {
                    tokens.add((buf[i] & 0xFF) + 3);
                }
            }
            len = 0;
        }
        while (true) {
            float best = -1e10f;
            int bestId = -1;
            int bestIdx = -1;
            for (int i = 0; i < tokens.size() - 1; i++) {
                byte[] a = t.piece(tokens.get(i));
                byte[] b = t.piece(tokens.get(i + 1));
                byte[] ab = Arrays.copyOf(a, a.length + b.length);
                System.arraycopy(b, 0, ab, a.length, b.length);
                int id = t.lookup(ab);
                if (id != -1 && t.score(id) > best) {
                    best = t.score(id);
                    bestId = id;
                    bestIdx = i;
                }
            }
            if (bestIdx == -1) {
                break;
            }
            tokens.set(bestIdx, bestId);
            tokens.remove(bestIdx + 1);
        }
        if (eos) {
            tokens.add(2);
        }
        return tokens.stream().mapToInt(Integer::intValue).toArray();
    }
}

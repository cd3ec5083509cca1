package org.lowbit4j.datasets;

/** SentencePiece token kinds, with the codes GGUF stores in {@code tokenizer.ggml.token_type}. */
public enum TokenType {
    /** An ordinary piece. */
    NORMAL(1),
    /** {@code <unk>}. */
    UNKNOWN(2),
    /** A control token such as BOS or EOS. */
    CONTROL(3),
    /** A user-defined piece. */
    USER_DEFINED(4),
    /** An unused slot. */
    UNUSED(5),
    /** A byte-fallback token {@code <0xHH>}. */
    BYTE(6);

    private final int ggufCode;

    TokenType(int ggufCode) {
        this.ggufCode = ggufCode;
    }

    /** @return the value GGUF's {@code tokenizer.ggml.token_type} array uses */
    public int ggufCode() {
        return ggufCode;
    }
}

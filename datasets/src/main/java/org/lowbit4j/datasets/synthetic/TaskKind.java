package org.lowbit4j.datasets.synthetic;

/** The synthetic tasks; each line starts with the task's {@link #tag()} and a colon. */
public enum TaskKind {
    /** {@code copy: abc = abc}. */
    COPY("copy"),
    /** {@code add: 12+34 = 46}: decimal sum of two non-negative integers. */
    ADD("add"),
    /** {@code rev: abc = cba}. */
    REVERSE("rev"),
    /** {@code shift: abc = bcd}: each letter replaced by the next one ({@code z} wraps to {@code a}). */
    SHIFT("shift");

    private final String tag;

    TaskKind(String tag) {
        this.tag = tag;
    }

    /** @return the line prefix before the colon */
    public String tag() {
        return tag;
    }
}

/**
 * Benchmark mains ({@code ./lowbit4j bench NAME}): each prints its figures with the backend in
 * use, so a run can be pasted into BENCHMARKS.md next to a peer measured in the same minutes.
 * Timings are medians after warm-up; this machine's absolute speed drifts, so only ratios
 * measured in one run are meaningful.
 */
package org.lowbit4j.examples.bench;

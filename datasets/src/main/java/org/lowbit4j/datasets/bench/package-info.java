/** Benchmark mains for the datasets module (timings are printed, never asserted in tests). */
package org.lowbit4j.datasets.bench;

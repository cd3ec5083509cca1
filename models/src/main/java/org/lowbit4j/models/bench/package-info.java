/** Benchmark mains for the models module (no timing assertions live in tests). */
package org.lowbit4j.models.bench;

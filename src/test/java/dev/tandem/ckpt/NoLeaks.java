package dev.tandem.ckpt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.tensor.MemoryAccounting;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Every off-heap byte a test allocates (models, shards, optimizer state, snapshot buffers, the
 * links of in-process groups) is freed when it ends. Tests share one JVM, and a later test
 * (TrainingTest) checks that nothing at all is live.
 */
final class NoLeaks implements BeforeEachCallback, AfterEachCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(NoLeaks.class);

    @Override
    public void beforeEach(ExtensionContext context) {
        context.getStore(NS).put("live", MemoryAccounting.current().liveTotal());
    }

    @Override
    public void afterEach(ExtensionContext context) {
        long before = context.getStore(NS).get("live", Long.class);
        assertThat(MemoryAccounting.current().liveTotal()).as("off-heap bytes live after the test").isEqualTo(before);
    }
}

/**
 * Evaluation of language models: perplexity by one fixed, documented protocol, so that figures are
 * comparable across commands (eval, finetune, pretrain) and with other tools.
 */
package org.lowbit4j.models.eval;

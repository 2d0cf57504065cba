/**
 * Mempool: txs valid against the ledger tip plus earlier mempool txs (chains work), pairwise
 * conflict-free, in arrival order, bounded in bytes.
 *
 *   new Mempool(ledger, {capacityBytes})      minMempoolCapacity(genesis) = 2·(S_RB + S_EB-tx)
 *   add(bytes) / addTx(tx) → {ok:true, tx} | {ok:false, reason, txId?}
 *        reasons: 'duplicate' | 'conflict' | 'mempool-full' | 'too-large' | 'malformed' | any
 *        ledger reason (full validation, signatures included)
 *   syncWithLedger(ledger?) → {included, invalid, removed}   after a tip change (O(1) if the
 *        ledger's version did not move; add() also syncs lazily)
 *   takeForBlock(maxBytes, {exclude?, maxCount?}) → Tx[]     (bytes as ledger bodySize counts)
 *   takeForEb(maxRefBytes, maxTxBytes, {exclude?, maxCount?, refSize?}) → Tx[]
 *        both: arrival order, dependency-safe skipping, nothing removed
 *   has(id) / get(id) / txs() / count / size (= count) / bytes / capacityBytes / remove(ids) / clear()
 *   idsAfter(cursor, max) → {txs: [{id, idHex, size}], cursor}     (cursor 0 = from the start)
 *   waitForTxsAfter(cursor, signal?) → Promise<void>;  onAdd(fn) → unsubscribe;  cursor (latest)
 */
export * from './mempool.ts';

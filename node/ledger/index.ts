/**
 * Ledger library: transaction format, UTxO ledger state, block-body helpers.
 *
 * Transactions (tx.ts) — canonical CBOR, tx = [body, witnesses], id = Blake2b-256(body bytes):
 *   types  TxIn {txId, index}, TxOut {address (28 B), amount}, TxBody {inputs, outputs, fee,
 *          padding?, update?}, TxUpdate (propose | endorse; validated by the core), Witness
 *          {vkey, sig}, TxData {body, witnesses}, Tx = TxData + {bytes, bodyBytes, id, idHex, size}
 *   encodeTx(tx: TxData): Uint8Array            decodeTx(bytes): Tx   (strict; TxDecodeError)
 *   txId(tx: TxData): Uint8Array                txSize(bytes | tx): number
 *   encodeBody(body), bodyEncodedSize(body), txEncodedSize(bodySize, nWitnesses), finalizeTx(data)
 *   makeSigner(seed): TxSigner {vkey, address, sign}      addressOf(vkey): Uint8Array (Blake2b-224)
 *   signTx(body, signers): Tx                   (as is: no fee/balance logic)
 *   buildTx({inputs (+amount), outputs, fee?, signers, padToBytes?, protocolParams,
 *            changeAddress?, update?}): Tx      (min fee by iteration, change, padding; TxBuildError)
 *   minFee(params, size) = minFeeA·size + minFeeB
 *   updateSigningBytes(update), proposalId(propose)   utxoKey(txIdHex, index), inputKey(txIn)
 *   txOutputRefs(tx) → [{txId, index, amount, address}]   (spend a tx's outputs in the next buildTx)
 *
 * Ledger (ledger.ts) — UTxO Map keyed `txIdHex#index`, mutated in place with undo records:
 *   Ledger.fromGenesis(genesis) / new Ledger(params, entries?) / Ledger.fromSnapshot(bytes, params)
 *   ledger.applyTx(tx, level, undo?)      → {ok, undo} | {ok:false, reason}
 *   ledger.applyBody(txs, level | (tx,i)=>level) → {ok, undo, txs, bytes, skipped} | {ok:false, index, reason, txId}
 *          atomic (all or nothing). Levels: 'validate' (all rules), 'reapply' (inputs exist and
 *          are unspent only: txs validated before, e.g. `mempool.has(tx.idHex)`), 'trusted'
 *          (certified EB contents: no validation; a tx whose inputs are gone is skipped and
 *          counted in `skipped`, so a conflicting/duplicate tx can neither mint value nor fail the EB).
 *   ledger.undo(record)                   LIFO: undo the latest applied record first
 *   ledger.checkTx(tx, level)             verdict without applying
 *   ledger.get(key) / has(key) / lookup / version (monotonic change counter) / utxoCount /
 *   entries() / utxosOf(address) / totalValue() / digest() / snapshot() / params (settable)
 *   checkTx(tx, lookup, params, level, keys?) / checkTxStatic / checkWitnesses / inputKeys(tx)
 *   verifyWitnessSignatures(tx): boolean — state-independent signature check; verdicts are
 *          cached by (tx id, exact witness bytes), so a tx admitted to the mempool validates
 *          again in a block (even a freshly decoded copy) without Ed25519 work (~12 µs vs ~95 µs).
 *          clearSignatureCache() empties it.
 *   REJECT_REASONS, RejectReason: 'malformed' | 'too-large' | 'missing-input' | 'double-spend' |
 *          'conflict' | 'bad-witness' | 'value-not-preserved' | 'fee-too-small' | 'duplicate' |
 *          'mempool-full'   — the `reason` label of leios_tx_rejected_total
 *
 * Block bodies — CBOR array of byte strings (each a tx encoding):
 *   bodySize(txs) (compare with params.maxBlockBodySize), bodyItemSize(txSize),
 *   encodeBodyTxs(txs), decodeBodyTxs(bytes) (strict), tryDecodeTx(bytes)
 */
export * from './tx.ts';
export * from './ledger.ts';

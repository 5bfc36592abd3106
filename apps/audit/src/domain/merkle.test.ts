import { describe, expect, it } from '@jest/globals';
import { appendToFrontier, consistencyProof, EMPTY_ROOT, frontierRoot, inclusionProof, leafHash, subtreeRoot, verifyConsistency, verifyInclusion, type Frontier } from './merkle.ts';

// RFC 6962's reference test data (certificate-transparency merkle_tree_test): eight leaves and the root of each prefix.
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

const leaves = (n: number) => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`entry ${i}`)));

describe('merkle tree (RFC 9162 §2.1)', () => {
  it('when the reference leaves are hashed, then every prefix has the reference root', () => {
    const hashes = LEAVES.map((l) => leafHash(l));
    expect(subtreeRoot([]).equals(EMPTY_ROOT)).toBe(true);
    expect(EMPTY_ROOT.toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    for (let n = 1; n <= 8; n++) expect(subtreeRoot(hashes, 0, n).toString('hex')).toBe(ROOTS[n - 1]);
  });

  it('when leaves are appended one at a time, then the frontier root is the tree root at every size', () => {
    const hashes = leaves(70);
    let frontier: Frontier = [];
    for (let n = 0; n < hashes.length; n++) {
      frontier = appendToFrontier(frontier, n, hashes[n]!);
      expect(frontierRoot(frontier).equals(subtreeRoot(hashes, 0, n + 1))).toBe(true);
    }
  });

  it('when an inclusion proof is made for every leaf of every size, then it verifies, and not for another leaf or root', () => {
    const hashes = leaves(33);
    for (let size = 1; size <= hashes.length; size++) {
      const root = subtreeRoot(hashes, 0, size);
      for (let i = 0; i < size; i++) {
        const path = inclusionProof(hashes, i, size);
        expect(verifyInclusion(hashes[i]!, i, size, path, root)).toBe(true);
        if (size > 1) expect(verifyInclusion(hashes[(i + 1) % size]!, i, size, path, root)).toBe(false);
        expect(verifyInclusion(hashes[i]!, i, size, path, hashes[0]!)).toBe(size === 1 && i === 0);
      }
    }
  });

  it('when a consistency proof is made for every pair of sizes, then it verifies, and not against another old root', () => {
    const hashes = leaves(33);
    for (let second = 1; second <= hashes.length; second++) {
      const newRoot = subtreeRoot(hashes, 0, second);
      for (let first = 1; first <= second; first++) {
        const proof = consistencyProof(hashes, first, second);
        expect(verifyConsistency(first, subtreeRoot(hashes, 0, first), second, newRoot, proof)).toBe(true);
        if (first < second) expect(verifyConsistency(first, subtreeRoot(hashes, 0, first - 1 || 1).reverse(), second, newRoot, proof)).toBe(false);
      }
    }
  });
});

/**
 * The object storage of files, through @aws-sdk/client-s3 only: a quarantine
 * bucket every upload lands in (pre-signed PUT, size and type signed so the
 * server refuses anything else) and a clean bucket scanned files are promoted
 * to (pre-signed GET). Pre-signing needs no round trip; it uses the endpoint
 * clients reach (S3_PUBLIC_URL), the rest the service's own.
 */
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

export interface StorageOptions {
  endpoint: string;
  publicEndpoint?: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  quarantineBucket: string;
  cleanBucket: string;
}

export interface Storage {
  ensureBuckets(): Promise<void>;
  check(signal?: AbortSignal): Promise<void>;
  presignUpload(key: string, contentType: string, size: number, ttlSeconds: number): Promise<string>;
  presignDownload(key: string, fileName: string, ttlSeconds: number): Promise<string>;
  /** Starts a multipart upload into quarantine; returns its upload id. */
  startMultipart(key: string, contentType: string): Promise<string>;
  /** A pre-signed PUT of one part, its size signed. */
  presignPart(key: string, uploadId: string, partNumber: number, size: number, ttlSeconds: number): Promise<string>;
  /** The parts received so far (to resume), by number with their ETags and sizes. */
  listParts(key: string, uploadId: string): Promise<{ partNumber: number; etag: string; size: number }[]>;
  /** Joins the parts into the object; undefined when the upload is unknown (never started, aborted, completed before). */
  completeMultipart(key: string, uploadId: string, parts: readonly { partNumber: number; etag: string }[]): Promise<void>;
  abortMultipart(key: string, uploadId: string): Promise<void>;
  /** Size of the uploaded object in quarantine, or undefined when it is not there (yet). */
  quarantinedSize(key: string): Promise<number | undefined>;
  /** The clean object's bytes (derivatives are made from them). */
  readClean(key: string): Promise<Buffer>;
  /** Writes a derived object into the clean bucket. */
  putClean(key: string, body: Buffer, contentType: string): Promise<void>;
  /** True when the object is in the clean bucket (promoted). */
  isPromoted(key: string): Promise<boolean>;
  /** The quarantined object's bytes as a stream of chunks. */
  readQuarantined(key: string): Promise<AsyncIterable<Uint8Array>>;
  /** Copies the object to the clean bucket, then removes it from quarantine. */
  promote(key: string): Promise<void>;
  /** Removes the object at `key` (`<tenant>/<id>/original`) and every object derived from it (beside it, under `<tenant>/<id>/`) from both buckets. */
  removeAll(key: string): Promise<void>;
  close(): void;
}

export function createStorage(options: StorageOptions): Storage {
  const clientFor = (endpoint: string): S3Client =>
    new S3Client({
      endpoint,
      region: options.region,
      forcePathStyle: true,
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
      // The SDK's default CRC checksums on PUT would have to be computed by the browser; a pre-signed URL must not ask for them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 2,
    });
  const s3 = clientFor(options.endpoint);
  const presigner = options.publicEndpoint ? clientFor(options.publicEndpoint) : s3;
  const { quarantineBucket, cleanBucket } = options;

  async function ensureBucket(bucket: string): Promise<void> {
    try {
      await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      } catch (createErr) {
        // Another replica created it first.
        if (!(createErr instanceof S3ServiceException && /BucketAlready(OwnedByYou|Exists)/.test(createErr.name))) throw createErr;
      }
    }
  }

  async function keysUnder(bucket: string, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  return {
    async ensureBuckets() {
      await ensureBucket(quarantineBucket);
      await ensureBucket(cleanBucket);
    },
    async check(signal) {
      await s3.send(new HeadBucketCommand({ Bucket: cleanBucket }), { abortSignal: signal });
    },
    presignUpload(key, contentType, size, ttlSeconds) {
      const command = new PutObjectCommand({ Bucket: quarantineBucket, Key: key, ContentType: contentType, ContentLength: size });
      // Signed headers: a PUT with another length or type fails the signature, so the limit holds before the bytes land.
      return getSignedUrl(presigner, command, { expiresIn: ttlSeconds, signableHeaders: new Set(['content-type', 'content-length']) });
    },
    presignDownload(key, fileName, ttlSeconds) {
      const disposition = `attachment; filename*=UTF-8''${encodeURIComponent(fileName)}`;
      return getSignedUrl(presigner, new GetObjectCommand({ Bucket: cleanBucket, Key: key, ResponseContentDisposition: disposition }), { expiresIn: ttlSeconds });
    },
    async startMultipart(key, contentType) {
      const started = await s3.send(new CreateMultipartUploadCommand({ Bucket: quarantineBucket, Key: key, ContentType: contentType }));
      if (!started.UploadId) throw new Error(`s3: no upload id for ${key}`);
      return started.UploadId;
    },
    presignPart(key, uploadId, partNumber, size, ttlSeconds) {
      const command = new UploadPartCommand({ Bucket: quarantineBucket, Key: key, UploadId: uploadId, PartNumber: partNumber, ContentLength: size });
      return getSignedUrl(presigner, command, { expiresIn: ttlSeconds, signableHeaders: new Set(['content-length']) });
    },
    async listParts(key, uploadId) {
      const parts: { partNumber: number; etag: string; size: number }[] = [];
      let marker: string | undefined;
      do {
        const page = await s3.send(new ListPartsCommand({ Bucket: quarantineBucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }));
        for (const p of page.Parts ?? []) if (p.PartNumber && p.ETag) parts.push({ partNumber: p.PartNumber, etag: p.ETag, size: p.Size ?? 0 });
        marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
      } while (marker);
      return parts;
    },
    async completeMultipart(key, uploadId, parts) {
      await s3.send(
        new CompleteMultipartUploadCommand({ Bucket: quarantineBucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) } }),
      );
    },
    async abortMultipart(key, uploadId) {
      await s3.send(new AbortMultipartUploadCommand({ Bucket: quarantineBucket, Key: key, UploadId: uploadId }));
    },
    async quarantinedSize(key) {
      try {
        const head = await s3.send(new HeadObjectCommand({ Bucket: quarantineBucket, Key: key }));
        return head.ContentLength;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async readClean(key) {
      const object = await s3.send(new GetObjectCommand({ Bucket: cleanBucket, Key: key }));
      return Buffer.from(await object.Body!.transformToByteArray());
    },
    async putClean(key, body, contentType) {
      await s3.send(new PutObjectCommand({ Bucket: cleanBucket, Key: key, Body: body, ContentType: contentType }));
    },
    async isPromoted(key) {
      try {
        await s3.send(new HeadObjectCommand({ Bucket: cleanBucket, Key: key }));
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    },
    async readQuarantined(key) {
      const object = await s3.send(new GetObjectCommand({ Bucket: quarantineBucket, Key: key }));
      if (!(object.Body instanceof Readable)) throw new Error(`s3: no body streamed for ${key}`);
      return object.Body;
    },
    async promote(key) {
      await s3.send(new CopyObjectCommand({ Bucket: cleanBucket, Key: key, CopySource: `${quarantineBucket}/${encodeURIComponent(key).replaceAll('%2F', '/')}` }));
      await s3.send(new DeleteObjectsCommand({ Bucket: quarantineBucket, Delete: { Objects: [{ Key: key }], Quiet: true } }));
    },
    async removeAll(key) {
      const prefix = key.slice(0, key.lastIndexOf('/') + 1);
      for (const bucket of [quarantineBucket, cleanBucket]) {
        const objects = [...new Set([key, ...(await keysUnder(bucket, prefix))])].map((Key) => ({ Key }));
        for (let i = 0; i < objects.length; i += 1000) {
          await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects.slice(i, i + 1000), Quiet: true } }));
        }
      }
    },
    close() {
      s3.destroy();
      if (presigner !== s3) presigner.destroy();
    },
  };
}

function isNotFound(err: unknown): boolean {
  return err instanceof S3ServiceException && (err.$metadata.httpStatusCode === 404 || err.name === 'NotFound' || err.name === 'NoSuchKey' || err.name === 'NoSuchBucket');
}

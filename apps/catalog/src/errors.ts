/**
 * Error codes of the catalog service, registered once at import. Each code
 * means one thing forever; the service kit maps them to problem+json.
 */
import { AppError, registerErrorCodes, type ErrorCodeInfo } from '@bulwark/errors';

export const CATALOG_ERROR_CODES = [
  { code: 'CATALOG_ADMIN_ONLY', status: 403, title: 'Admin role required', description: 'Catalog writes need the `admin` role in the verified principal (x-auth-roles, set by the gateway).' },
  { code: 'CATALOG_PRODUCT_NOT_FOUND', status: 404, title: 'Product not found', description: 'No product with this id exists in the tenant.' },
  { code: 'CATALOG_CATEGORY_NOT_FOUND', status: 404, title: 'Category not found', description: 'The named category (`category`) does not exist in the tenant.' },
  { code: 'CATALOG_UNKNOWN_CATEGORY', status: 422, title: 'Unknown category', description: 'The product or category names a category (`category`) that does not exist; create it with PUT /v1/categories/:slug first.' },
  { code: 'CATALOG_CATEGORY_CYCLE', status: 422, title: 'Category cycle', description: 'The parent named would make the category its own ancestor.' },
  { code: 'CATALOG_CATEGORY_IN_USE', status: 409, title: 'Category in use', description: 'A category with subcategories or products cannot be deleted.' },
  { code: 'CATALOG_SLUG_TAKEN', status: 409, title: 'Slug taken', description: 'Another product of the tenant has this slug.' },
  { code: 'CATALOG_SKU_TAKEN', status: 409, title: 'SKU taken', description: 'Another product of the tenant has a variant with this SKU (`sku`).' },
] as const satisfies readonly ErrorCodeInfo[];

registerErrorCodes(CATALOG_ERROR_CODES);

export type CatalogErrorCode = (typeof CATALOG_ERROR_CODES)[number]['code'];

/** The one way this service raises its codes. */
export function catalogError(code: CatalogErrorCode, message: string, extensions?: Record<string, unknown>): AppError {
  const status = CATALOG_ERROR_CODES.find((c) => c.code === code)!.status;
  return new AppError(code, message, { status, extensions });
}

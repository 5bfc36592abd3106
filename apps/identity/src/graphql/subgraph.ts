/**
 * identity's subgraph: the Account entity other subgraphs point at
 * (`Account @key(fields: "id")`) and `me`. Behind the gateway the caller is
 * x-auth-sub in tenant x-auth-tenant; an account of another tenant resolves
 * to null, and without a tenant nothing is found.
 */
import type { Request } from 'express';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import type { DbPool } from '@bulwark/db';
import { batchLoader, registerSubgraph, SUBGRAPH_QUERY_LIMITS, type DataLoader, type QueryLimits } from '@bulwark/graphql-kit';
import type { RouteRegistrar } from '@bulwark/service-kit';
import { accountsByIds, type AccountNode } from './accounts-batch.ts';

export const IDENTITY_TYPE_DEFS = parse(/* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

  type Query {
    "The signed-in account (null without a verified caller)."
    me: Account
  }

  "An account of the caller's tenant."
  type Account @key(fields: "id") {
    id: ID!
    email: String!
    displayName: String
  }
`);

interface IdentityGraphContext {
  sub: string | undefined;
  accounts: DataLoader<string, AccountNode | undefined>;
}

export function createIdentitySchema() {
  return buildSubgraphSchema([{
    typeDefs: IDENTITY_TYPE_DEFS,
    resolvers: {
      Query: {
        me: (_: unknown, __: unknown, ctx: IdentityGraphContext) => (ctx.sub ? ctx.accounts.load(ctx.sub) : null),
      },
      Account: {
        __resolveReference: (ref: { id: string }, ctx: IdentityGraphContext) => ctx.accounts.load(ref.id),
      },
    },
  }]);
}

export function registerIdentitySubgraph(r: RouteRegistrar, pool: DbPool, limits: QueryLimits = SUBGRAPH_QUERY_LIMITS): void {
  registerSubgraph(r, {
    schema: createIdentitySchema(),
    limits,
    context(req: Request): IdentityGraphContext {
      const tenant = req.get('x-auth-tenant');
      return {
        sub: req.get('x-auth-sub') || undefined,
        accounts: batchLoader((ids: readonly string[]) => (tenant ? accountsByIds(pool, tenant, ids) : Promise.resolve(new Map<string, AccountNode>()))),
      };
    },
  });
}

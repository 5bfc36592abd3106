/**
 * Refuses an operation past the depth or cost limits after it is parsed and
 * validated, before the query planner calls any subgraph: 400 with
 * GRAPHQL_QUERY_TOO_DEEP or GRAPHQL_QUERY_TOO_COSTLY (the measured value and
 * the limit in `extensions`). Runs here, not as a validation rule, because
 * the variables are known here (a list sized by `$first` counts as asked).
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, type FragmentDefinitionNode } from 'graphql';
import { limitError, measureOperation, type QueryLimits } from '@bulwark/graphql-kit';

export interface LimitsObserver {
  /** Called with each refusal's code (metrics). */
  refused(code: string): void;
}

export function queryLimitsPlugin(limits: QueryLimits, observer?: LimitsObserver): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, schema, request }) {
          if (!operation) return;
          const fragments = new Map<string, FragmentDefinitionNode>();
          for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
          const measure = measureOperation(schema, operation, fragments, { defaultListSize: limits.defaultListSize, variables: request.variables ?? {} });
          const error = limitError(measure, limits, operation);
          if (!error) return;
          const code = String(error.extensions.code);
          observer?.refused(code);
          error.extensions.http = { status: 400 };
          throw error;
        },
      };
    },
  };
}

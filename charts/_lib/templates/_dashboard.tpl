{{/*
The RED dashboard every service shares: the stat row and the request, error
and latency panels on the kit's http_server_request_duration_seconds, with
the dashboard's uid, title, tags and namespace variable. A service chart's
dashboards/<name>.json holds only its own panels (ids from 11, gridPos y from
28); "bulwark.lib.dashboardJson" puts these first when
monitoring.dashboard.red is on (the default), else ships the file as it is.
__SERVICE__ is the service name (its `service` label), __ALERT__ the prefix of
its alerts (<Name>HighErrorRate, <Name>HighLatencyP99).
*/}}
{{- define "bulwark.lib.redDashboardJson" -}}
{{- `{
  "uid": "bulwark-__SERVICE__",
  "title": "Bulwark / __SERVICE__",
  "tags": [
    "bulwark",
    "__SERVICE__",
    "red"
  ],
  "timezone": "browser",
  "schemaVersion": 39,
  "version": 1,
  "refresh": "10s",
  "time": {
    "from": "now-30m",
    "to": "now"
  },
  "editable": true,
  "graphTooltip": 1,
  "templating": {
    "list": [
      {
        "name": "datasource",
        "type": "datasource",
        "query": "prometheus",
        "label": "Data source",
        "current": {}
      },
      {
        "name": "namespace",
        "type": "query",
        "label": "Namespace",
        "datasource": {
          "type": "prometheus",
          "uid": "${datasource}"
        },
        "query": {
          "query": "label_values(http_server_request_duration_seconds_count{service=\"__SERVICE__\"}, namespace)",
          "refId": "ns"
        },
        "definition": "label_values(http_server_request_duration_seconds_count{service=\"__SERVICE__\"}, namespace)",
        "includeAll": true,
        "allValue": ".*",
        "multi": false,
        "refresh": 2,
        "current": {}
      }
    ]
  },
  "annotations": {
    "list": []
  },
  "panels": [
    {
      "id": 1,
      "type": "stat",
      "title": "Requests / s",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 0,
        "y": 0,
        "w": 6,
        "h": 4
      },
      "fieldConfig": {
        "defaults": {
          "unit": "reqps",
          "thresholds": {
            "mode": "absolute",
            "steps": [
              {
                "color": "blue",
                "value": null
              }
            ]
          }
        },
        "overrides": []
      },
      "options": {
        "reduceOptions": {
          "calcs": [
            "lastNotNull"
          ]
        },
        "colorMode": "background",
        "graphMode": "area"
      },
      "targets": [
        {
          "refId": "A",
          "expr": "sum(rate(http_server_request_duration_seconds_count{service=\"__SERVICE__\",namespace=~\"$namespace\"}[$__rate_interval]))",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          }
        }
      ]
    },
    {
      "id": 2,
      "type": "stat",
      "title": "5xx ratio",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 6,
        "y": 0,
        "w": 6,
        "h": 4
      },
      "fieldConfig": {
        "defaults": {
          "unit": "percentunit",
          "thresholds": {
            "mode": "absolute",
            "steps": [
              {
                "color": "green",
                "value": null
              },
              {
                "color": "orange",
                "value": 0.01
              },
              {
                "color": "red",
                "value": 0.05
              }
            ]
          }
        },
        "overrides": []
      },
      "options": {
        "reduceOptions": {
          "calcs": [
            "lastNotNull"
          ]
        },
        "colorMode": "background",
        "graphMode": "area"
      },
      "targets": [
        {
          "refId": "A",
          "expr": "sum(rate(http_server_request_duration_seconds_count{service=\"__SERVICE__\",namespace=~\"$namespace\",status_code=~\"5..\"}[$__rate_interval])) / sum(rate(http_server_request_duration_seconds_count{service=\"__SERVICE__\",namespace=~\"$namespace\"}[$__rate_interval]))",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          }
        }
      ]
    },
    {
      "id": 3,
      "type": "stat",
      "title": "p99 latency",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 12,
        "y": 0,
        "w": 6,
        "h": 4
      },
      "fieldConfig": {
        "defaults": {
          "unit": "s",
          "thresholds": {
            "mode": "absolute",
            "steps": [
              {
                "color": "green",
                "value": null
              },
              {
                "color": "orange",
                "value": 0.25
              },
              {
                "color": "red",
                "value": 0.5
              }
            ]
          }
        },
        "overrides": []
      },
      "options": {
        "reduceOptions": {
          "calcs": [
            "lastNotNull"
          ]
        },
        "colorMode": "background",
        "graphMode": "area"
      },
      "targets": [
        {
          "refId": "A",
          "expr": "histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket{service=\"__SERVICE__\",namespace=~\"$namespace\"}[$__rate_interval])))",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          }
        }
      ]
    },
    {
      "id": 4,
      "type": "stat",
      "title": "Ready pods",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 18,
        "y": 0,
        "w": 6,
        "h": 4
      },
      "fieldConfig": {
        "defaults": {
          "unit": "none",
          "thresholds": {
            "mode": "absolute",
            "steps": [
              {
                "color": "red",
                "value": null
              },
              {
                "color": "orange",
                "value": 1
              },
              {
                "color": "green",
                "value": 2
              }
            ]
          }
        },
        "overrides": []
      },
      "options": {
        "reduceOptions": {
          "calcs": [
            "lastNotNull"
          ]
        },
        "colorMode": "background",
        "graphMode": "area"
      },
      "targets": [
        {
          "refId": "A",
          "expr": "sum(kube_pod_status_ready{condition=\"true\",namespace=~\"$namespace\",pod=~\"__SERVICE__-[a-z0-9]+-[a-z0-9]{5}\"})",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          }
        }
      ]
    },
    {
      "id": 5,
      "type": "timeseries",
      "title": "Rate: requests / s by route",
      "description": "R of RED: every request the kit observed, by route template.",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 0,
        "y": 4,
        "w": 12,
        "h": 8
      },
      "fieldConfig": {
        "defaults": {
          "unit": "reqps",
          "custom": {
            "lineWidth": 1,
            "fillOpacity": 10
          }
        },
        "overrides": []
      },
      "options": {
        "legend": {
          "displayMode": "table",
          "placement": "bottom",
          "calcs": [
            "mean",
            "max",
            "lastNotNull"
          ]
        },
        "tooltip": {
          "mode": "multi",
          "sort": "desc"
        }
      },
      "targets": [
        {
          "refId": "A",
          "expr": "sum by (route) (rate(http_server_request_duration_seconds_count{service=\"__SERVICE__\",namespace=~\"$namespace\"}[$__rate_interval]))",
          "legendFormat": "{{route}}",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          }
        }
      ]
    },
    {
      "id": 6,
      "type": "timeseries",
      "title": "Errors: 5xx ratio by route",
      "description": "E of RED. The alert __ALERT__HighErrorRate fires above 5% for 5m.",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 12,
        "y": 4,
        "w": 12,
        "h": 8
      },
      "fieldConfig": {
        "defaults": {
          "unit": "percentunit",
          "custom": {
            "lineWidth": 1,
            "fillOpacity": 10
          }
        },
        "overrides": []
      },
      "options": {
        "legend": {
          "displayMode": "table",
          "placement": "bottom",
          "calcs": [
            "mean",
            "max",
            "lastNotNull"
          ]
        },
        "tooltip": {
          "mode": "multi",
          "sort": "desc"
        }
      },
      "targets": [
        {
          "refId": "A",
          "expr": "sum by (route) (rate(http_server_request_duration_seconds_count{service=\"__SERVICE__\",namespace=~\"$namespace\",status_code=~\"5..\"}[$__rate_interval])) / sum by (route) (rate(http_server_request_duration_seconds_count{service=\"__SERVICE__\",namespace=~\"$namespace\"}[$__rate_interval]))",
          "legendFormat": "{{route}}",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          }
        }
      ]
    },
    {
      "id": 7,
      "type": "timeseries",
      "title": "Duration: p50 / p95 / p99",
      "description": "D of RED. The alert __ALERT__HighLatencyP99 fires above 500 ms for 10m.",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 0,
        "y": 12,
        "w": 12,
        "h": 8
      },
      "fieldConfig": {
        "defaults": {
          "unit": "s",
          "custom": {
            "lineWidth": 1,
            "fillOpacity": 10
          }
        },
        "overrides": []
      },
      "options": {
        "legend": {
          "displayMode": "table",
          "placement": "bottom",
          "calcs": [
            "mean",
            "max",
            "lastNotNull"
          ]
        },
        "tooltip": {
          "mode": "multi",
          "sort": "desc"
        }
      },
      "targets": [
        {
          "refId": "A",
          "expr": "histogram_quantile(0.5, sum by (le) (rate(http_server_request_duration_seconds_bucket{service=\"__SERVICE__\",namespace=~\"$namespace\"}[$__rate_interval])))",
          "legendFormat": "p50",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          }
        },
        {
          "refId": "B",
          "expr": "histogram_quantile(0.95, sum by (le) (rate(http_server_request_duration_seconds_bucket{service=\"__SERVICE__\",namespace=~\"$namespace\"}[$__rate_interval])))",
          "legendFormat": "p95",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          }
        },
        {
          "refId": "C",
          "expr": "histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket{service=\"__SERVICE__\",namespace=~\"$namespace\"}[$__rate_interval])))",
          "legendFormat": "p99",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          }
        }
      ]
    },
    {
      "id": 8,
      "type": "timeseries",
      "title": "Responses / s by status code",
      "description": "",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 12,
        "y": 12,
        "w": 12,
        "h": 8
      },
      "fieldConfig": {
        "defaults": {
          "unit": "reqps",
          "custom": {
            "lineWidth": 1,
            "fillOpacity": 10
          }
        },
        "overrides": []
      },
      "options": {
        "legend": {
          "displayMode": "table",
          "placement": "bottom",
          "calcs": [
            "mean",
            "max",
            "lastNotNull"
          ]
        },
        "tooltip": {
          "mode": "multi",
          "sort": "desc"
        }
      },
      "targets": [
        {
          "refId": "A",
          "expr": "sum by (status_code) (rate(http_server_request_duration_seconds_count{service=\"__SERVICE__\",namespace=~\"$namespace\"}[$__rate_interval]))",
          "legendFormat": "{{status_code}}",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          }
        }
      ]
    },
    {
      "id": 9,
      "type": "timeseries",
      "title": "p99 by route",
      "description": "",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 0,
        "y": 20,
        "w": 12,
        "h": 8
      },
      "fieldConfig": {
        "defaults": {
          "unit": "s",
          "custom": {
            "lineWidth": 1,
            "fillOpacity": 10
          }
        },
        "overrides": []
      },
      "options": {
        "legend": {
          "displayMode": "table",
          "placement": "bottom",
          "calcs": [
            "mean",
            "max",
            "lastNotNull"
          ]
        },
        "tooltip": {
          "mode": "multi",
          "sort": "desc"
        }
      },
      "targets": [
        {
          "refId": "A",
          "expr": "histogram_quantile(0.99, sum by (le, route) (rate(http_server_request_duration_seconds_bucket{service=\"__SERVICE__\",namespace=~\"$namespace\"}[$__rate_interval])))",
          "legendFormat": "{{route}}",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          }
        }
      ]
    },
    {
      "id": 10,
      "type": "timeseries",
      "title": "Requests / s by pod (canary vs stable)",
      "description": "",
      "datasource": {
        "type": "prometheus",
        "uid": "${datasource}"
      },
      "gridPos": {
        "x": 12,
        "y": 20,
        "w": 12,
        "h": 8
      },
      "fieldConfig": {
        "defaults": {
          "unit": "reqps",
          "custom": {
            "lineWidth": 1,
            "fillOpacity": 10
          }
        },
        "overrides": []
      },
      "options": {
        "legend": {
          "displayMode": "table",
          "placement": "bottom",
          "calcs": [
            "mean",
            "max",
            "lastNotNull"
          ]
        },
        "tooltip": {
          "mode": "multi",
          "sort": "desc"
        }
      },
      "targets": [
        {
          "refId": "A",
          "expr": "sum by (pod) (rate(http_server_request_duration_seconds_count{service=\"__SERVICE__\",namespace=~\"$namespace\"}[$__rate_interval]))",
          "legendFormat": "{{pod}}",
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          }
        }
      ]
    }
  ]
}` -}}
{{- end -}}

{{/* One dashboards/*.json file as shipped: `dict "ctx" $ctx "path" <file>`. */}}
{{- define "bulwark.lib.dashboardJson" -}}
{{- $raw := .ctx.root.Files.Get .path -}}
{{- if .ctx.v.monitoring.dashboard.red -}}
{{- $file := $raw | fromJson -}}
{{- if hasKey $file "Error" -}}
{{- fail (printf "%s: %s" .path (get $file "Error")) -}}
{{- end -}}
{{- $name := include "bulwark.lib.name" .ctx -}}
{{- $out := include "bulwark.lib.redDashboardJson" . | replace "__SERVICE__" $name | replace "__ALERT__" ($name | camelcase) | fromJson -}}
{{- $panels := concat $out.panels ($file.panels | default list) -}}
{{- range $k, $v := $file }}{{ $_ := set $out $k $v }}{{ end -}}
{{- $_ := set $out "panels" $panels -}}
{{- toPrettyJson $out -}}
{{- else -}}
{{- $raw -}}
{{- end -}}
{{- end -}}

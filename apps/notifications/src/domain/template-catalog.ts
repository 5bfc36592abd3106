/**
 * The message templates this service ships, per locale. Email bodies are
 * HTML (variables escaped); SMS bodies are plain text (rendered unescaped).
 */
import { TemplateRegistry } from '../templates.ts';

export function createTemplateCatalog(defaultLocale = 'en'): TemplateRegistry {
  return new TemplateRegistry(defaultLocale)
    .add('order-confirmed', 'en', { subject: 'Order {{orderId}} confirmed', body: '<p>Hi {{name}},</p><p>your order {{orderId}} is confirmed.</p>' })
    .add('order-confirmed', 'de', { subject: 'Bestellung {{orderId}} bestätigt', body: '<p>Hallo {{name}},</p><p>deine Bestellung {{orderId}} ist bestätigt.</p>' })
    .add('payment-failed', 'en', { subject: 'Payment for order {{orderId}} failed', body: '<p>Hi {{name}},</p><p>the payment for order {{orderId}} failed: {{reason}}.</p>' })
    .add('payment-failed', 'de', { subject: 'Zahlung für Bestellung {{orderId}} fehlgeschlagen', body: '<p>Hallo {{name}},</p><p>die Zahlung für Bestellung {{orderId}} ist fehlgeschlagen: {{reason}}.</p>' })
    .add('verification-code', 'en', { subject: 'Your code', body: 'Your Bulwark code is {{code}}. It expires in {{minutes}} minutes.' })
    .add('verification-code', 'de', { subject: 'Dein Code', body: 'Dein Bulwark-Code ist {{code}}. Er läuft in {{minutes}} Minuten ab.' });
}

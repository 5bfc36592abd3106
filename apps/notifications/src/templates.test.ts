import { describe, expect, it } from '@jest/globals';
import { render, TemplateRegistry } from './templates.ts';

describe('render', () => {
  it('escapes variables by default', () => {
    expect(render('<p>Hi {{name}}</p>', { name: '<script>x</script>&"' })).toBe('<p>Hi &lt;script&gt;x&lt;/script&gt;&amp;&quot;</p>');
  });
  it('inserts raw with triple braces', () => {
    expect(render('{{{html}}}', { html: '<b>x</b>' })).toBe('<b>x</b>');
  });
  it('reports every missing variable as a 422 and renders nothing', () => {
    expect(() => render('{{a}} {{b}} {{c}}', { b: 1 })).toThrow(expect.objectContaining({ code: 'NOTIFICATIONS_TEMPLATE_VARIABLE_MISSING', status: 422, extensions: { missing: ['a', 'c'] } }));
  });
});

describe('TemplateRegistry', () => {
  const registry = new TemplateRegistry('en')
    .add('order-confirmed', 'en', { subject: 'Order {{orderId}} confirmed', body: 'Thanks {{name}}' })
    .add('order-confirmed', 'de', { subject: 'Bestellung {{orderId}} bestätigt', body: 'Danke {{name}}' });

  it('picks the locale, then the language, then the default', () => {
    expect(registry.render('order-confirmed', 'de', { orderId: 'o1', name: 'A' }).subject).toBe('Bestellung o1 bestätigt');
    expect(registry.render('order-confirmed', 'de-AT', { orderId: 'o1', name: 'A' }).body).toBe('Danke A');
    expect(registry.render('order-confirmed', 'fr', { orderId: 'o1', name: 'A' }).body).toBe('Thanks A');
  });
  it('404s an unknown template', () => {
    expect(() => registry.render('nope', 'en', {})).toThrow(expect.objectContaining({ code: 'NOTIFICATIONS_TEMPLATE_NOT_FOUND', status: 404 }));
  });
});
